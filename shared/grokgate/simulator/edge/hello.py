"""Parse a raw TLS ClientHello (record layer included) and compute its JA4 fingerprint.

Usage::

    hello = ClientHello.parse(raw_bytes)      # ValueError on anything that is not a hello
    hello.ja4                                 # "t13d1516h2_8daaf6152771_d8a2da3f94cd"
    client_hello_complete(partial_bytes)      # False until every record of the hello arrived

Only the structure is checked (lengths, vectors, no duplicate extensions), never the values:
the edge wants to *describe* a hello, OpenSSL decides whether it can be served. JA4 follows
FoxIO's spec (https://github.com/FoxIO-LLC/ja4): GREASE values are kept in the parsed lists
(so order and GREASE are visible) and dropped only where JA4 says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ClientHello",
    "client_hello_complete",
    "is_grease",
]

_RECORD_HANDSHAKE = 0x16
_HANDSHAKE_CLIENT_HELLO = 0x01
_MAX_RECORD = 16384 + 2048  # RFC 8446 allows 2^14; a little slack, a hard stop for garbage
_MAX_HELLO = 1 << 17

EXT_SNI = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_COMPRESS_CERTIFICATE = 0x001B
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_KEY_SHARE = 0x0033
EXT_ALPS_OLD = 0x4469  # 17513: ALPS "application_settings", Chrome up to 132
EXT_ALPS = 0x44CD  # 17613: ALPS' new codepoint, Chrome 133+
EXT_ECH = 0xFE0D  # 65037

_VERSIONS = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


class _Reader:
    """Bounds-checked big-endian reads; every failure is a ValueError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise ValueError(f"truncated {self.what}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int, what: str) -> _Reader:
        return _Reader(self.take(self.uint(length_bytes)), what)

    def u16_list(self, length_bytes: int, what: str) -> tuple[int, ...]:
        vec = self.vector(length_bytes, what)
        if len(vec.data) % 2:
            raise ValueError(f"odd length {what}")
        return tuple(vec.uint(2) for _ in range(len(vec.data) // 2))

    def left(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> None:
        if self.left():
            raise ValueError(f"trailing bytes in {self.what}")


def _handshake_bytes(data: bytes) -> bytes | None:
    """The ClientHello handshake message (header included) from TLS records, or None when
    more records are needed. Raises ValueError for anything that is not a ClientHello."""
    buf = bytearray()
    pos = 0
    needed: int | None = None
    while needed is None or len(buf) < needed:
        if len(data) - pos < 5:
            if data[pos : pos + 1] not in (b"", bytes([_RECORD_HANDSHAKE])):
                raise ValueError(f"not a TLS handshake record (content type {data[pos]:#04x})")
            return None
        if data[pos] != _RECORD_HANDSHAKE:
            raise ValueError(f"not a TLS handshake record (content type {data[pos]:#04x})")
        if data[pos + 1] != 0x03:
            raise ValueError("bad TLS record version")
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        if length == 0 or length > _MAX_RECORD:
            raise ValueError(f"bad TLS record length {length}")
        if len(data) - pos - 5 < length:
            return None
        buf += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if needed is None and len(buf) >= 4:
            if buf[0] != _HANDSHAKE_CLIENT_HELLO:
                raise ValueError(f"not a ClientHello (handshake type {buf[0]})")
            needed = 4 + int.from_bytes(buf[1:4], "big")
            if needed > _MAX_HELLO or needed < 4 + 2 + 32 + 1 + 2 + 1:
                raise ValueError(f"bad ClientHello length {needed - 4}")
    if len(buf) != needed:
        raise ValueError("ClientHello shares a record with another message")
    return bytes(buf)


def client_hello_complete(data: bytes) -> bool:
    """True once ``data`` holds a whole ClientHello (further bytes may follow); False while
    more is needed. Raises ValueError as soon as the bytes cannot be a ClientHello."""
    return _handshake_bytes(data) is not None


def _sni(body: bytes) -> str:
    reader = _Reader(body, "server_name")
    names = reader.vector(2, "server_name list")
    reader.done()
    host = ""
    while names.left():
        kind = names.uint(1)
        name = names.vector(2, "server name").data
        if kind == 0 and not host:
            host = name.decode("ascii", "replace")
    return host


def _alpn(body: bytes, what: str) -> tuple[str, ...]:
    reader = _Reader(body, what)
    protos = reader.vector(2, f"{what} list")
    reader.done()
    out: list[str] = []
    while protos.left():
        out.append(protos.vector(1, "protocol").data.decode("latin-1"))
    return tuple(out)


def _u16s(body: bytes, length_bytes: int, what: str) -> tuple[int, ...]:
    reader = _Reader(body, what)
    values = reader.u16_list(length_bytes, what)
    reader.done()
    return values


def _key_share_groups(body: bytes) -> tuple[int, ...]:
    reader = _Reader(body, "key_share")
    shares = reader.vector(2, "key_share list")
    reader.done()
    groups: list[int] = []
    while shares.left():
        groups.append(shares.uint(2))
        shares.vector(2, "key_exchange")
    return tuple(groups)


def _hash12(items: list[str]) -> str:
    if not items:
        return "0" * 12
    return hashlib.sha256(",".join(items).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ClientHello:
    """One parsed ClientHello. Lists keep the wire order and any GREASE values."""

    record_version: int
    legacy_version: int
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: bytes
    extensions: tuple[int, ...]
    sni: str | None
    alpn: tuple[str, ...]
    supported_versions: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    supported_groups: tuple[int, ...]
    key_share_groups: tuple[int, ...]
    alps: tuple[str, ...]
    cert_compression: tuple[int, ...]
    raw: bytes = field(repr=False, compare=False)

    @classmethod
    def parse(cls, data: bytes) -> ClientHello:
        """Parse TLS records holding a ClientHello; ValueError on garbage or truncation."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError("ClientHello bytes expected")
        data = bytes(data)
        message = _handshake_bytes(data)
        if message is None:
            raise ValueError("truncated ClientHello")
        reader = _Reader(message[4:], "ClientHello")
        legacy_version = reader.uint(2)
        reader.take(32)  # random
        session_id = reader.vector(1, "session id").data
        if len(session_id) > 32:
            raise ValueError("session id longer than 32 bytes")
        ciphers = reader.u16_list(2, "cipher suites")
        if not ciphers:
            raise ValueError("no cipher suites")
        compression = reader.vector(1, "compression methods").data
        bodies: dict[int, bytes] = {}
        order: list[int] = []
        if reader.left():
            exts = reader.vector(2, "extensions")
            while exts.left():
                ext_type = exts.uint(2)
                if ext_type in bodies:
                    raise ValueError(f"duplicate extension {ext_type}")
                bodies[ext_type] = exts.vector(2, f"extension {ext_type}").data
                order.append(ext_type)
        reader.done()

        def opt(ext: int, parse: Callable[[bytes], tuple[Any, ...]]) -> tuple[Any, ...]:
            return parse(bodies[ext]) if ext in bodies else ()

        alps_ext = EXT_ALPS if EXT_ALPS in bodies else EXT_ALPS_OLD
        return cls(
            record_version=int.from_bytes(data[1:3], "big"),
            legacy_version=legacy_version,
            session_id=session_id,
            cipher_suites=ciphers,
            compression_methods=compression,
            extensions=tuple(order),
            sni=_sni(bodies[EXT_SNI]) if EXT_SNI in bodies else None,
            alpn=opt(EXT_ALPN, lambda b: _alpn(b, "alpn")),
            supported_versions=opt(EXT_SUPPORTED_VERSIONS, lambda b: _u16s(b, 1, "versions")),
            signature_algorithms=opt(EXT_SIGNATURE_ALGORITHMS, lambda b: _u16s(b, 2, "sigalgs")),
            supported_groups=opt(EXT_SUPPORTED_GROUPS, lambda b: _u16s(b, 2, "groups")),
            key_share_groups=opt(EXT_KEY_SHARE, _key_share_groups),
            alps=opt(alps_ext, lambda b: _alpn(b, "alps")),
            cert_compression=opt(EXT_COMPRESS_CERTIFICATE, lambda b: _u16s(b, 1, "cert comp")),
            raw=data,
        )

    # -- derived views ---------------------------------------------------------------------

    @property
    def grease(self) -> bool:
        """GREASE anywhere (ciphers, extensions, groups, versions, signature algorithms)."""
        lists = (
            self.cipher_suites,
            self.extensions,
            self.supported_groups,
            self.supported_versions,
            self.signature_algorithms,
            self.key_share_groups,
        )
        return any(is_grease(v) for values in lists for v in values)

    @property
    def tls_version(self) -> int:
        """The highest version offered (supported_versions, else the legacy version)."""
        offered = [v for v in self.supported_versions if not is_grease(v)]
        return max(offered) if offered else self.legacy_version

    @property
    def ciphers_no_grease(self) -> tuple[int, ...]:
        return tuple(c for c in self.cipher_suites if not is_grease(c))

    @property
    def extensions_no_grease(self) -> tuple[int, ...]:
        return tuple(e for e in self.extensions if not is_grease(e))

    @property
    def extension_set(self) -> frozenset[int]:
        """Extension types without GREASE: compare sets, Chrome shuffles the order."""
        return frozenset(self.extensions_no_grease)

    @property
    def ja4_a(self) -> str:
        version = _VERSIONS.get(self.tls_version, "00")
        dest = "d" if EXT_SNI in self.extensions else "i"
        ciphers = min(len(self.ciphers_no_grease), 99)
        exts = min(len(self.extensions_no_grease), 99)
        return f"t{version}{dest}{ciphers:02d}{exts:02d}{self._alpn_chars()}"

    def _alpn_chars(self) -> str:
        if not self.alpn or not self.alpn[0]:
            return "00"
        first = self.alpn[0]
        a, b = first[0], first[-1]
        if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
            return a + b
        hexed = first.encode("latin-1").hex()
        return hexed[0] + hexed[-1]

    @property
    def ja4_b(self) -> str:
        return _hash12(sorted(f"{c:04x}" for c in self.ciphers_no_grease))

    @property
    def ja4_c(self) -> str:
        exts = sorted(f"{e:04x}" for e in self.extensions_no_grease if e not in (EXT_SNI, EXT_ALPN))
        sigs = [f"{s:04x}" for s in self.signature_algorithms]
        if not exts:
            return "0" * 12
        text = ",".join(exts) + ("_" + ",".join(sigs) if sigs else "")
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def ja4(self) -> str:
        return f"{self.ja4_a}_{self.ja4_b}_{self.ja4_c}"

    @property
    def ja4_r(self) -> str:
        """JA4's raw (unhashed) form: sorted ciphers, sorted extensions, signature algorithms."""
        ciphers = ",".join(sorted(f"{c:04x}" for c in self.ciphers_no_grease))
        exts = ",".join(
            sorted(f"{e:04x}" for e in self.extensions_no_grease if e not in (EXT_SNI, EXT_ALPN))
        )
        sigs = ",".join(f"{s:04x}" for s in self.signature_algorithms)
        return f"{self.ja4_a}_{ciphers}_{exts}_{sigs}"
