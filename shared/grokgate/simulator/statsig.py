"""The 70-byte ``x-statsig-id`` token that grok.com checks on its REST calls.

Layout before masking (docs/grok-protocol.md §9.1)::

    header[0:49] ‖ counter:uint32-LE ‖ sha256(f"{METHOD}!{path}!{counter}{suffix}")[:16] ‖ trailer

``counter`` is whole seconds since :data:`EPOCH`. Byte 0 of the output is a random XOR key
(``header[0]`` is only the key position and is ignored); bytes 1..69 are the plain bytes XOR'd
with that key. The result is standard base64 with the ``=`` padding stripped.

The method is upper-cased before hashing, as a browser's ``fetch`` does for ``POST``/``GET``.

A "synthetic" value (the older SDK-failure fallback, §9.4) is
``base64("x1:" + <error text>)``; :func:`verify` accepts it only when asked to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = [
    "DEMO_CONSTANTS",
    "EPOCH",
    "HEADER_LEN",
    "REASONS",
    "TOKEN_LEN",
    "StatsigConstants",
    "decode",
    "sign",
    "synthetic",
    "verify",
]

EPOCH = 1682924400  # 2023-05-01T07:00:00Z
TOKEN_LEN = 70
HEADER_LEN = 49
_COUNTER_END = HEADER_LEN + 4  # 53
_HASH_END = _COUNTER_END + 16  # 69

REASONS: tuple[str, ...] = (
    "missing",
    "not_base64",
    "bad_length",
    "bad_meta",
    "stale_counter",
    "bad_hash",
    "bad_trailer",
    "synthetic_rejected",
)


@dataclass(frozen=True)
class StatsigConstants:
    """Per-web-build signing constants (``CHALLENGE_HEADER_HEX``/``_SUFFIX``/``_TRAILER``)."""

    header: bytes
    suffix: str
    trailer: int = 3

    def __post_init__(self) -> None:
        if len(self.header) != HEADER_LEN:
            raise ValueError(f"header must be {HEADER_LEN} bytes, got {len(self.header)}")
        if not 0 <= self.trailer <= 255:
            raise ValueError("trailer must be one byte (0..255)")


DEMO_CONSTANTS = StatsigConstants(
    header=bytes.fromhex(
        "00212b15713631b56202bc2d1ecc5e4172482506bcc04defe71e038b74f0f5d4"
        "1edabb20b87e8df44a636757a2adda85b2"
    ),
    suffix="grokgate-demo-suffix",
    trailer=3,
)


def _digest(method: str, path: str, counter: int, suffix: str) -> bytes:
    data = f"{method.upper()}!{path}!{counter}{suffix}".encode()
    return hashlib.sha256(data).digest()[:16]


def _counter(now: float) -> int:
    return (int(now) - EPOCH) & 0xFFFFFFFF


def sign(
    method: str,
    path: str,
    consts: StatsigConstants,
    now: float,
    key: int | None = None,
) -> str:
    """Build a token for ``method``/``path`` at time ``now`` (unix seconds)."""
    if key is None:
        key = secrets.randbelow(256)
    if not 0 <= key <= 255:
        raise ValueError("key must be one byte (0..255)")
    counter = _counter(now)
    plain = (
        consts.header
        + counter.to_bytes(4, "little")
        + _digest(method, path, counter, consts.suffix)
        + bytes([consts.trailer])
    )
    out = bytes([key]) + bytes(b ^ key for b in plain[1:])
    return base64.b64encode(out).decode("ascii").rstrip("=")


def decode(value: str) -> bytes | None:
    """Strict standard-base64 decode, with or without ``=`` padding; None when invalid."""
    text = value.strip()
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def _is_synthetic(raw: bytes) -> bool:
    try:
        return raw.decode("utf-8").startswith("x1:")
    except UnicodeDecodeError:
        return False


def synthetic(detail: str = "TypeError: Cannot read properties of undefined (reading 'x')") -> str:
    """A synthetic ``x1:`` value, as the browser sends when its Statsig evaluation fails."""
    return base64.b64encode(f"x1:{detail}".encode()).decode("ascii")


def verify(
    value: str | None,
    method: str,
    path: str,
    consts: StatsigConstants,
    now: float,
    window_s: int = 300,
    accept_synthetic: bool = False,
) -> str | None:
    """Return None when ``value`` is a valid token for ``method``/``path``, else a reason.

    The reason is one of :data:`REASONS`.
    """
    if value is None or not value.strip():
        return "missing"
    raw = decode(value)
    if raw is None:
        return "not_base64"
    if _is_synthetic(raw):
        return None if accept_synthetic else "synthetic_rejected"
    if len(raw) != TOKEN_LEN:
        return "bad_length"
    key = raw[0]
    plain = bytes([0]) + bytes(b ^ key for b in raw[1:])
    if plain[1:HEADER_LEN] != consts.header[1:HEADER_LEN]:
        return "bad_meta"
    counter = int.from_bytes(plain[HEADER_LEN:_COUNTER_END], "little")
    if abs(now - (EPOCH + counter)) > window_s:
        return "stale_counter"
    expected = _digest(method, path, counter, consts.suffix)
    if not hmac.compare_digest(plain[_COUNTER_END:_HASH_END], expected):
        return "bad_hash"
    if plain[_HASH_END] != consts.trailer:
        return "bad_trailer"
    return None
