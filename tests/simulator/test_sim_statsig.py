"""x-statsig-id signing and verification (docs/grok-protocol.md §9.1)."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest

from grokgate.simulator.statsig import (
    DEMO_CONSTANTS,
    EPOCH,
    REASONS,
    StatsigConstants,
    decode,
    sign,
    synthetic,
    verify,
)

PATH = "/rest/app-chat/conversations/new"
NOW = 1_780_000_000.0


def _raw(value: str) -> bytearray:
    raw = decode(value)
    assert raw is not None
    return bytearray(raw)


def _encode(raw: bytes, pad: bool = False) -> str:
    text = base64.b64encode(bytes(raw)).decode()
    return text if pad else text.rstrip("=")


def _tampered(index: int) -> str:
    raw = _raw(sign("POST", PATH, DEMO_CONSTANTS, NOW, key=0x5A))
    raw[index] ^= 0x01
    return _encode(raw)


def test_epoch_and_demo_constants() -> None:
    assert EPOCH == 1682924400
    assert len(DEMO_CONSTANTS.header) == 49
    assert DEMO_CONSTANTS.suffix == "grokgate-demo-suffix"
    assert DEMO_CONSTANTS.trailer == 3


def test_round_trip_and_length() -> None:
    value = sign("POST", PATH, DEMO_CONSTANTS, NOW)
    assert "=" not in value
    assert len(base64.b64decode(value + "=" * (-len(value) % 4))) == 70
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) is None


def test_layout_with_key_zero_matches_spec() -> None:
    raw = _raw(sign("POST", PATH, DEMO_CONSTANTS, NOW, key=0))
    counter = int(NOW) - EPOCH
    digest = hashlib.sha256(f"POST!{PATH}!{counter}grokgate-demo-suffix".encode()).digest()
    assert raw[0] == 0
    assert raw[1:49] == DEMO_CONSTANTS.header[1:49]
    assert raw[49:53] == counter.to_bytes(4, "little")
    assert raw[53:69] == digest[:16]
    assert raw[69] == 3


def test_masking_uses_byte_zero_as_key() -> None:
    plain = _raw(sign("POST", PATH, DEMO_CONSTANTS, NOW, key=0))
    masked = _raw(sign("POST", PATH, DEMO_CONSTANTS, NOW, key=0xA7))
    assert masked[0] == 0xA7
    assert all(masked[i] == plain[i] ^ 0xA7 for i in range(1, 70))


def test_padding_optional() -> None:
    raw = _raw(sign("POST", PATH, DEMO_CONSTANTS, NOW))
    padded, bare = _encode(raw, pad=True), _encode(raw)
    assert padded.endswith("==") and not bare.endswith("=")
    assert verify(padded, "POST", PATH, DEMO_CONSTANTS, NOW) is None
    assert verify(bare, "POST", PATH, DEMO_CONSTANTS, NOW) is None


def test_key_is_random_and_every_key_verifies() -> None:
    values = {sign("POST", PATH, DEMO_CONSTANTS, NOW) for _ in range(16)}
    assert len(values) > 1
    for value in values:
        assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) is None
    a = sign("POST", PATH, DEMO_CONSTANTS, NOW, key=1)
    b = sign("POST", PATH, DEMO_CONSTANTS, NOW, key=2)
    assert a != b
    assert verify(a, "POST", PATH, DEMO_CONSTANTS, NOW) is None
    assert verify(b, "POST", PATH, DEMO_CONSTANTS, NOW) is None


@pytest.mark.parametrize("index", [1, 20, 48])
def test_meta_tamper(index: int) -> None:
    assert verify(_tampered(index), "POST", PATH, DEMO_CONSTANTS, NOW) == "bad_meta"


def test_header_byte_zero_is_ignored() -> None:
    other = StatsigConstants(b"\xff" + DEMO_CONSTANTS.header[1:], DEMO_CONSTANTS.suffix)
    assert verify(sign("POST", PATH, other, NOW), "POST", PATH, DEMO_CONSTANTS, NOW) is None


@pytest.mark.parametrize("offset", [-301, 301, -10_000])
def test_counter_outside_window(offset: int) -> None:
    value = sign("POST", PATH, DEMO_CONSTANTS, NOW + offset)
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) == "stale_counter"


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_counter_inside_window(offset: int) -> None:
    value = sign("POST", PATH, DEMO_CONSTANTS, NOW + offset)
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) is None


def test_custom_window() -> None:
    value = sign("POST", PATH, DEMO_CONSTANTS, NOW - 30)
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW, window_s=10) == "stale_counter"
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW, window_s=30) is None


def test_counter_tamper_is_stale() -> None:
    assert verify(_tampered(52), "POST", PATH, DEMO_CONSTANTS, NOW) == "stale_counter"


def test_wrong_path_or_method_is_bad_hash() -> None:
    value = sign("POST", PATH, DEMO_CONSTANTS, NOW)
    assert verify(value, "POST", "/rest/rate-limits", DEMO_CONSTANTS, NOW) == "bad_hash"
    assert verify(value, "GET", PATH, DEMO_CONSTANTS, NOW) == "bad_hash"


def test_method_is_upper_cased() -> None:
    value = sign("post", PATH, DEMO_CONSTANTS, NOW)
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) is None


def test_wrong_suffix_is_bad_hash() -> None:
    other = StatsigConstants(DEMO_CONSTANTS.header, "another-build-suffix")
    value = sign("POST", PATH, other, NOW)
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) == "bad_hash"


@pytest.mark.parametrize("index", [53, 60, 68])
def test_hash_tamper(index: int) -> None:
    assert verify(_tampered(index), "POST", PATH, DEMO_CONSTANTS, NOW) == "bad_hash"


def test_trailer() -> None:
    assert verify(_tampered(69), "POST", PATH, DEMO_CONSTANTS, NOW) == "bad_trailer"
    other = StatsigConstants(DEMO_CONSTANTS.header, DEMO_CONSTANTS.suffix, trailer=4)
    value = sign("POST", PATH, other, NOW)
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) == "bad_trailer"


@pytest.mark.parametrize("size", [0, 1, 69, 71, 140])
def test_bad_length(size: int) -> None:
    raw = _raw(sign("POST", PATH, DEMO_CONSTANTS, NOW))
    data = (bytes(raw) * 3)[:size]
    if size == 0:
        assert verify("", "POST", PATH, DEMO_CONSTANTS, NOW) == "missing"
        return
    assert verify(_encode(data), "POST", PATH, DEMO_CONSTANTS, NOW) == "bad_length"


@pytest.mark.parametrize("value", ["%%%not base64%%%", "abcde", "ab$d", "éé==", "a===b"])
def test_not_base64(value: str) -> None:
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) == "not_base64"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing(value: str | None) -> None:
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) == "missing"


def test_synthetic_x1_value() -> None:
    value = synthetic("TypeError: Cannot read properties of null (reading 'children['ab1c2']')")
    assert base64.b64decode(value).startswith(b"x1:")
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW) == "synthetic_rejected"
    assert verify(value, "POST", PATH, DEMO_CONSTANTS, NOW, accept_synthetic=True) is None
    bare = value.rstrip("=")
    assert verify(bare, "POST", PATH, DEMO_CONSTANTS, NOW, accept_synthetic=True) is None
    legacy = base64.b64encode(b"e:TypeError: old prefix").decode()
    assert verify(legacy, "POST", PATH, DEMO_CONSTANTS, NOW, accept_synthetic=True) == (
        "bad_length"
    )


def test_reasons_are_the_documented_set() -> None:
    assert set(REASONS) == {
        "missing",
        "not_base64",
        "bad_length",
        "bad_meta",
        "stale_counter",
        "bad_hash",
        "bad_trailer",
        "synthetic_rejected",
    }


def test_constants_validation_and_real_clock() -> None:
    with pytest.raises(ValueError):
        StatsigConstants(b"\x00" * 48, "s")
    with pytest.raises(ValueError):
        StatsigConstants(b"\x00" * 49, "s", trailer=256)
    with pytest.raises(ValueError):
        sign("POST", PATH, DEMO_CONSTANTS, NOW, key=256)
    now = time.time()
    assert (
        verify(sign("POST", PATH, DEMO_CONSTANTS, now), "POST", PATH, DEMO_CONSTANTS, now) is None
    )
