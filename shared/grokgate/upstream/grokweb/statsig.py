"""``x-statsig-id``: signed in-process, synthetic, or from an external token provider
(docs/grok-protocol.md §9).

The signed token is 70 bytes, base64-encoded without padding::

    byte 0       a random key byte
    bytes 1..69  XOR(key, meta[48] ‖ counter u32 LE ‖ sha256(M!path!counter+suffix)[:16] ‖ trailer)

``meta`` is bytes 1..48 of the operator's 49-byte ``CHALLENGE_HEADER_HEX`` (byte 0 of that header
is the key's position, 0 when extracted with the random source forced to 0), ``counter`` counts
seconds since 2023-05-01T07:00:00Z, and ``suffix`` / ``trailer`` are the web client's constants.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import struct
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from grokgate.errors import UpstreamError, Verdict

EPOCH = 1682924400  # 2023-05-01T07:00:00Z
TOKEN_BYTES = 70
PROVIDER_TTL = 60.0


class Signer(Protocol):
    kind: str

    async def sign(self, method: str, path: str) -> str: ...

    def invalidate(self) -> None: ...

    async def refresh(self) -> bool:
        """After a code-7 rejection: whether newer constants are now in use (worth one retry)."""
        ...

    def rejected(self) -> None:
        """Count a code-7 rejection (and say what to do about it, now and then)."""
        ...


class _Fixed:
    """What a signer with nothing to refresh answers after a rejection."""

    async def refresh(self) -> bool:
        return False

    def rejected(self) -> None:
        from grokgate import metrics

        metrics.count("StatsigRejected")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def decode(value: str) -> bytes:
    """The raw bytes of a base64 token, with or without padding."""
    return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)


class InProcessSigner(_Fixed):
    """Builds the 70-byte token from the operator's constants (no JS engine, no third party)."""

    kind = "signed"

    def __init__(
        self,
        header: bytes,
        suffix: str,
        trailer: int = 3,
        *,
        clock: Callable[[], float] = time.time,
        key_source: Callable[[], int] = lambda: secrets.randbelow(256),
    ) -> None:
        if len(header) != 49:
            raise ValueError("the statsig header must be 49 bytes")
        self.meta = header[1:49]
        self.suffix = suffix
        self.trailer = trailer
        self.clock = clock
        self.key_source = key_source

    def token(self, method: str, path: str, *, now: float | None = None) -> str:
        counter = int(self.clock() if now is None else now) - EPOCH
        digest = hashlib.sha256(f"{method.upper()}!{path}!{counter}{self.suffix}".encode())
        plain = b"".join(
            (self.meta, struct.pack("<I", counter), digest.digest()[:16], bytes([self.trailer]))
        )
        key = self.key_source() & 0xFF
        return _b64(bytes([key]) + bytes(b ^ key for b in plain))

    async def sign(self, method: str, path: str) -> str:
        return self.token(method, path)

    def invalidate(self) -> None:
        """Nothing is cached: every call signs afresh."""


class SyntheticSigner(_Fixed):
    """The "SDK failure" value browsers send when Statsig fails (§9.4), prefix ``x1:``."""

    kind = "synthetic"
    _ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
    _ALPHA = "abcdefghijklmnopqrstuvwxyz"

    def token(self) -> str:
        if secrets.randbelow(2):
            pick = "".join(secrets.choice(self._ALNUM) for _ in range(5))
            text = f"TypeError: Cannot read properties of null (reading 'children['{pick}']')"
        else:
            pick = "".join(secrets.choice(self._ALPHA) for _ in range(10))
            text = f"TypeError: Cannot read properties of undefined (reading '{pick}')"
        return base64.b64encode(f"x1:{text}".encode()).decode()

    async def sign(self, method: str, path: str) -> str:
        return self.token()

    def invalidate(self) -> None:
        """Nothing is cached."""


class ProviderSigner(_Fixed):
    """Asks an external token provider: ``POST url {"method", "path", "environment":
    {"metaContent"}}`` → ``{"x-statsig-id"}`` (the seed goes along when known, as GO3 sends it).

    Tokens are cached per (method, path) for a minute; an anti-bot rejection invalidates them.
    """

    kind = "provider"

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl: float = PROVIDER_TTL,
        clock: Callable[[], float] = time.monotonic,
        seed: bytes | None = None,
    ) -> None:
        self.url = url
        self.seed = seed
        self.http = http
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = asyncio.Lock()

    async def sign(self, method: str, path: str) -> str:
        key = (method.upper(), path)
        cached = self._cache.get(key)
        if cached and self.clock() - cached[0] < self.ttl:
            return cached[1]
        async with self._lock:
            cached = self._cache.get(key)
            if cached and self.clock() - cached[0] < self.ttl:
                return cached[1]
            value = await self._fetch(*key)
            self._cache[key] = (self.clock(), value)
            return value

    async def _fetch(self, method: str, path: str) -> str:
        try:
            body: dict[str, object] = {"method": method, "path": path}
            if self.seed is not None:
                body["environment"] = {"metaContent": _b64(self.seed)}
            resp = await self.http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise _provider_error(f"unreachable ({type(exc).__name__})") from exc
        if resp.status_code != 200:
            raise _provider_error(f"answered HTTP {resp.status_code}")
        try:
            data = resp.json()
            value = None
            if isinstance(data, dict):
                value = data.get("x-statsig-id") or data.get("token")
        except ValueError:
            value = resp.text.strip()
        if not isinstance(value, str) or not value:
            raise _provider_error("answered without a token")
        try:
            valid = len(decode(value)) == TOKEN_BYTES
        except ValueError:
            valid = False
        if not valid:
            raise _provider_error("answered a token that is not 70 base64 bytes")
        return value

    def invalidate(self) -> None:
        self._cache.clear()

    async def refresh(self) -> bool:
        self._cache.clear()
        return True  # the provider signs afresh


def _provider_error(what: str) -> UpstreamError:
    # The provider is ours to fix, not the account's: the account is not punished.
    return UpstreamError(f"x-statsig-id token provider {what}", verdict=Verdict.CHALLENGED)


def build_signer(
    *,
    header_hex: str | None,
    suffix: str | None,
    trailer: int,
    provider_url: str | None,
    http: httpx.AsyncClient,
) -> Signer:
    """Provider if configured, else in-process if the constants are set, else synthetic."""
    if provider_url:
        return ProviderSigner(provider_url, http)
    if header_hex and suffix is not None:
        return InProcessSigner(bytes.fromhex(header_hex), suffix, trailer)
    return SyntheticSigner()
