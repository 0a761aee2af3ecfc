"""Content decoding with bounded output, for every body that comes from the network.

httpx and curl inflate each network chunk in full before anyone counts its size, so a few KB
of brotli or zstd that inflate to gigabytes grew the process by gigabytes before any cap saw
them. Here the raw bytes are decoded step by step, each step giving at most :data:`PIECE`
bytes, and only when the reader asks for more: a reader that stops at its cap stops the
decoding there too (peak memory: the cap plus a piece or two, whatever the ratio).

* gzip / x-gzip / deflate: :mod:`zlib` with ``max_length``;
* br: brotli's ``process(..., output_buffer_limit=)``, drained with empty input;
* zstd: zstandard's decompressor fed a few bytes at a time (it has no output limit: a zstd
  block of ~4 bytes inflates to at most 128 KiB, so a :data:`_ZSTD_SLICE`-byte slice gives at
  most ~1.5 MiB), with the window capped at 8 MiB (RFC 9659);
* identity (or no header): the bytes as they are; anything else is a :class:`DecodeError`.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Protocol

__all__ = ["PIECE", "DecodeError", "Decoder", "decoded"]

PIECE = 64 * 1024
_ZSTD_SLICE = 48
_ZSTD_WINDOW = 8 * 1024 * 1024
_MAX_LAYERS = 3


class DecodeError(Exception):
    """The body is not valid in its declared encoding, or the encoding is not one we decode."""


class _Step(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _Zlib:
    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._obj: zlib._Decompress | None = None
        if gzip:
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _start(self, data: bytes) -> zlib._Decompress:
        # "deflate" is meant to be zlib-wrapped; some servers send it raw
        if self._obj is None:
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return self._obj

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        obj = self._start(data)
        pending = data
        try:
            while not obj.eof:
                out = obj.decompress(pending, PIECE)
                pending = obj.unconsumed_tail
                if out:
                    yield out
                if not pending and len(out) < PIECE:
                    return
        except zlib.error as exc:
            raise DecodeError(f"invalid {'gzip' if self._gzip else 'deflate'} data") from exc

    def flush(self) -> Iterator[bytes]:
        if self._obj is None:
            return
        try:
            rest = self._obj.flush()
        except zlib.error as exc:
            raise DecodeError("invalid compressed data") from exc
        if rest:
            yield rest


class _Brotli:
    def __init__(self) -> None:
        import brotli

        self._error = brotli.error
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._obj.process(data, output_buffer_limit=PIECE)
            if out:
                yield out
            # more output may be pending even when it says it can take more input
            while not self._obj.is_finished():
                out = self._obj.process(b"", output_buffer_limit=PIECE)
                if not out:
                    return
                yield out
        except self._error as exc:
            raise DecodeError("invalid brotli data") from exc

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Zstd:
    def __init__(self) -> None:
        import zstandard

        self._error = zstandard.ZstdError
        self._dctx = zstandard.ZstdDecompressor(max_window_size=_ZSTD_WINDOW)
        self._obj = self._dctx.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        try:
            for at in range(0, len(view), _ZSTD_SLICE):
                piece = view[at : at + _ZSTD_SLICE].tobytes()
                while piece:
                    out = self._obj.decompress(piece)
                    piece = b""
                    if self._obj.eof:  # concatenated frames: start the next one
                        piece = self._obj.unused_data
                        self._obj = self._dctx.decompressobj()
                    yield from _pieces(out)
        except self._error as exc:
            raise DecodeError("invalid zstd data") from exc

    def flush(self) -> Iterator[bytes]:
        return iter(())


def _pieces(data: bytes) -> Iterator[bytes]:
    if len(data) <= PIECE:
        if data:
            yield data
        return
    view = memoryview(data)
    for at in range(0, len(view), PIECE):
        yield view[at : at + PIECE].tobytes()


def _step(name: str) -> _Step:
    if name in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if name == "deflate":
        return _Zlib(gzip=False)
    try:
        if name == "br":
            return _Brotli()
        if name == "zstd":
            return _Zstd()
    except ImportError as exc:
        raise DecodeError(f"content encoding {name!r} cannot be decoded here") from exc
    raise DecodeError(f"unsupported content encoding {name[:40]!r}")


class Decoder:
    """Decodes a body sent with ``Content-Encoding: content_encoding`` (layers applied in the
    order listed are undone in reverse); :class:`DecodeError` for one we do not decode."""

    def __init__(self, content_encoding: str | None) -> None:
        names = [n.strip().lower() for n in (content_encoding or "").split(",")]
        names = [n for n in names if n and n != "identity"]
        if len(names) > _MAX_LAYERS:
            raise DecodeError(f"{len(names)} layers of content encoding")
        self._steps = [_step(name) for name in reversed(names)]

    @property
    def identity(self) -> bool:
        return not self._steps

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data`` (each at most :data:`PIECE` bytes), lazily."""
        return self._through(0, iter((data,)), final=False)

    def flush(self) -> Iterator[bytes]:
        """What is left once the body ended."""
        return self._through(0, iter(()), final=True)

    def _through(self, index: int, source: Iterator[bytes], *, final: bool) -> Iterator[bytes]:
        if index == len(self._steps):
            yield from source
            return
        step = self._steps[index]

        def fed() -> Iterator[bytes]:
            for data in source:
                yield from step.feed(data)
            if final:
                yield from step.flush()

        yield from self._through(index + 1, fed(), final=final)


async def decoded(raw: AsyncIterator[bytes], content_encoding: str | None) -> AsyncIterator[bytes]:
    """The decoded body whose raw (still encoded) chunks ``raw`` yields; decoding goes only as
    far as the reader reads. :class:`DecodeError` for an encoding we do not decode."""
    decoder = Decoder(content_encoding)
    async with aclosing(raw):  # type: ignore[type-var]
        async for chunk in raw:
            if decoder.identity:
                if chunk:
                    yield chunk
                continue
            for piece in decoder.feed(chunk):
                yield piece
        for piece in decoder.flush():
            yield piece
