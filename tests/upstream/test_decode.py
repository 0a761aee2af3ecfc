"""Bounded content decoding: every encoding round-trips, pieces stay small, decoding stops
where the reader stops, and unknown or broken encodings are a DecodeError."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import AsyncIterator, Callable

import brotli
import pytest
import zstandard

from grokgate.upstream.decode import PIECE, DecodeError, Decoder, decoded

DATA = os.urandom(200_000) + b"hello " * 100_000
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
    "gzip, br": lambda d: brotli.compress(gzip.compress(d)),
}


def _chunks(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def _source(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize("encoding", list(ENCODERS))
async def test_every_encoding_round_trips_in_small_pieces(encoding: str) -> None:
    pieces = [p async for p in decoded(_source(_chunks(ENCODERS[encoding](DATA))), encoding)]
    assert b"".join(pieces) == DATA
    assert max(map(len, pieces)) <= 2 * PIECE


def test_raw_deflate_and_identity() -> None:
    raw = zlib.compress(DATA)[2:-4]
    decoder = Decoder("deflate")
    assert b"".join(p for c in _chunks(raw) for p in decoder.feed(c)) == DATA
    assert Decoder("identity").identity and Decoder(None).identity


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_a_bomb_is_decoded_only_as_far_as_it_is_read(encoding: str) -> None:
    bomb = ENCODERS[encoding](bytes(64 * 1024 * 1024))
    decoder = Decoder(encoding)
    pieces = decoder.feed(bomb)  # lazily: nothing is inflated until asked for
    taken = 0
    for piece in pieces:
        assert len(piece) <= 2 * PIECE
        taken += len(piece)
        if taken > 1024 * 1024:
            break
    assert taken < 2 * 1024 * 1024


@pytest.mark.parametrize("encoding", ["compress", "gzip", "br", "zstd", "a, b, c, d"])
def test_unknown_or_broken_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(DecodeError):
        decoder = Decoder(encoding)
        list(decoder.feed(b"this is not compressed data at all" * 4))
        list(decoder.flush())
