"""Is a connection Chrome? Compare its TLS ClientHello and HTTP/2 preface with measured Chrome
profiles and say why not.

Usage::

    v = verdict(record)          # Verdict(chrome=False, reasons=("no GREASE values ...", ...))
    is_chrome(record)            # bool
    str(v)                       # "chrome (chrome146)" or "not chrome: ...; ..."

Rules, as Chrome behaves (order never matters: Chrome shuffles its extensions):

* TLS: GREASE present, TLS 1.3 offered, the cipher set (JA4 part b), the extension set without
  SNI/ALPN and the signature algorithms (together JA4 part c) equal to the profile's. A hello
  that resumes a session also carries ``pre_shared_key`` (and may carry ``early_data``), as
  Chrome's do on a second connection to the same host: those two are not held against it.
* Regular requests: ALPN offer ``h2, http/1.1``, HTTP/2 negotiated, the client's first SETTINGS
  exactly the profile's (values and order), the connection WINDOW_UPDATE the profile's, every
  request's pseudo-header order ``m,a,s,p``.
* WebSockets: Chrome opens a separate connection offering ALPN ``http/1.1`` alone and then
  sends no ALPS extension (BoringSSL sends ALPS only alongside ``h2``); every request on such
  a connection must be an ``Upgrade: websocket``. A plain HTTP/1.1 request is not Chrome.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .hello import EXT_ALPN, EXT_ALPS, EXT_ALPS_OLD, EXT_SNI
from .records import ConnectionRecord

__all__ = [
    "CHROME_146",
    "CHROME_150",
    "CHROME_152",
    "CHROME_PROFILES",
    "EXTENSION_NAMES",
    "BrowserProfile",
    "Verdict",
    "is_chrome",
    "verdict",
]

EXTENSION_NAMES = {
    0: "server_name",
    5: "status_request",
    10: "supported_groups",
    11: "ec_point_formats",
    13: "signature_algorithms",
    16: "alpn",
    18: "signed_certificate_timestamp",
    21: "padding",
    23: "extended_master_secret",
    27: "compress_certificate",
    28: "record_size_limit",
    34: "delegated_credentials",
    35: "session_ticket",
    41: "pre_shared_key",
    43: "supported_versions",
    45: "psk_key_exchange_modes",
    49: "post_handshake_auth",
    50: "signature_algorithms_cert",
    51: "key_share",
    17513: "application_settings_old(ALPS)",
    17613: "application_settings(ALPS)",
    51764: "trust_anchors",
    65037: "encrypted_client_hello",
    65281: "renegotiation_info",
}


def _hash12(values: list[str]) -> str:
    return hashlib.sha256(",".join(values).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class BrowserProfile:
    """A measured browser fingerprint. ``extensions`` excludes SNI and ALPN (as JA4 part c)
    and is the set sent next to ALPN ``h2``; the WebSocket hello lacks ALPS."""

    name: str
    ciphers: frozenset[int]
    extensions: frozenset[int]
    signature_algorithms: tuple[int, ...]
    settings: tuple[tuple[int, int], ...]
    window_update: int
    pseudo_order: str = "m,a,s,p"
    alpn_h2: tuple[str, ...] = ("h2", "http/1.1")
    alpn_ws: tuple[str, ...] = ("http/1.1",)

    @property
    def ws_extensions(self) -> frozenset[int]:
        return self.extensions - {EXT_ALPS, EXT_ALPS_OLD}

    @property
    def ja4_b(self) -> str:
        return _hash12(sorted(f"{c:04x}" for c in self.ciphers))

    def ja4_c(self, websocket: bool = False) -> str:
        exts = self.ws_extensions if websocket else self.extensions
        text = ",".join(sorted(f"{e:04x}" for e in exts))
        text += "_" + ",".join(f"{s:04x}" for s in self.signature_algorithms)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def ja4(self, websocket: bool = False, sni: bool = True) -> str:
        exts = len(self.ws_extensions if websocket else self.extensions) + 1 + int(sni)
        alpn = "h1" if websocket else "h2"
        head = f"t13{'d' if sni else 'i'}{len(self.ciphers):02d}{exts:02d}{alpn}"
        return f"{head}_{self.ja4_b}_{self.ja4_c(websocket)}"

    @property
    def akamai(self) -> str:
        settings = ";".join(f"{k}:{v}" for k, v in self.settings)
        return f"{settings}|{self.window_update}|0|{self.pseudo_order}"


_CHROME_CIPHERS = frozenset(
    {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8}
    | {0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035}
)
_CHROME_EXTENSIONS = frozenset((5, 10, 11, 13, 18, 23, 27, 35, 43, 45, 51, EXT_ALPS, 65037, 65281))
_CHROME_SIGALGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
_CHROME_SETTINGS = ((1, 65536), (2, 0), (4, 6291456), (6, 262144))

#: curl_cffi 0.17 ``chrome146``: JA4 t13d1516h2_8daaf6152771_d8a2da3f94cd
CHROME_146 = BrowserProfile(
    name="chrome146",
    ciphers=_CHROME_CIPHERS,
    extensions=_CHROME_EXTENSIONS,
    signature_algorithms=_CHROME_SIGALGS,
    settings=_CHROME_SETTINGS,
    window_update=15663105,
)
#: curl_cffi 0.17 ``chrome152``: adds trust_anchors (0xca34) and the ML-DSA signature
#: algorithms (0x0904-0x0906); JA4 t13d1517h2_8daaf6152771_cb7bf5808d99
CHROME_152 = BrowserProfile(
    name="chrome152",
    ciphers=_CHROME_CIPHERS,
    extensions=_CHROME_EXTENSIONS | {0xCA34},
    signature_algorithms=(0x0904, 0x0905, 0x0906, *_CHROME_SIGALGS),
    settings=_CHROME_SETTINGS,
    window_update=15663105,
)
#: curl_cffi 0.17 ``chrome150`` / ``chrome151``: the ML-DSA signature algorithms without
#: trust_anchors; JA4 t13d1516h2_8daaf6152771_806a8c22fdea
CHROME_150 = BrowserProfile(
    name="chrome150",
    ciphers=_CHROME_CIPHERS,
    extensions=_CHROME_EXTENSIONS,
    signature_algorithms=CHROME_152.signature_algorithms,
    settings=_CHROME_SETTINGS,
    window_update=15663105,
)
#: What the edge accepts as Chrome by default (chrome136..146 share CHROME_146's hello).
CHROME_PROFILES: tuple[BrowserProfile, ...] = (CHROME_146, CHROME_150, CHROME_152)


@dataclass(frozen=True)
class Verdict:
    """``chrome`` and the matching profile, or the reasons against the closest profile."""

    chrome: bool
    profile: str | None
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.chrome

    def __str__(self) -> str:
        if self.chrome:
            return f"chrome ({self.profile})"
        return "not chrome: " + "; ".join(self.reasons)


def _names(values: set[int] | frozenset[int]) -> str:
    return ", ".join(f"{v} ({EXTENSION_NAMES.get(v, '?')})" for v in sorted(values))


def _hex(values: Iterable[int]) -> str:
    return ",".join(f"{v:04x}" for v in values)


_RESUMPTION = frozenset({41, 42})  # pre_shared_key, early_data: a resumed session's hello


def _tls_reasons(record: ConnectionRecord, profile: BrowserProfile) -> list[str]:
    hello = record.hello
    if hello is None:
        return [f"no ClientHello parsed ({record.hello_error or 'connection ended early'})"]
    reasons: list[str] = []
    if not hello.grease:
        reasons.append("no GREASE values (Chrome always sends GREASE)")
    if hello.tls_version != 0x0304:
        reasons.append(f"TLS 1.3 not offered (highest {hello.tls_version:#06x})")
    ciphers = frozenset(hello.ciphers_no_grease)
    if ciphers != profile.ciphers or len(hello.ciphers_no_grease) != len(ciphers):
        reasons.append(
            f"cipher suites (JA4 b {hello.ja4_b}, Chrome {profile.ja4_b}): "
            f"missing [{_hex(sorted(profile.ciphers - ciphers))}], "
            f"extra [{_hex(sorted(ciphers - profile.ciphers))}]"
        )
    websocket = hello.alpn == profile.alpn_ws
    expected = profile.ws_extensions if websocket else profile.extensions
    exts = frozenset(hello.extensions_no_grease) - {EXT_SNI, EXT_ALPN} - _RESUMPTION
    if exts != expected:
        reasons.append(
            f"extensions (JA4 c {hello.ja4_c}, Chrome {profile.ja4_c(websocket)}): "
            f"missing [{_names(expected - exts)}], extra [{_names(exts - expected)}]"
        )
    if hello.signature_algorithms != profile.signature_algorithms:
        reasons.append(
            f"signature algorithms [{_hex(hello.signature_algorithms)}], "
            f"Chrome [{_hex(profile.signature_algorithms)}]"
        )
    if hello.alpn not in (profile.alpn_h2, profile.alpn_ws):
        reasons.append(
            f"ALPN offer {list(hello.alpn)}: Chrome offers {list(profile.alpn_h2)} "
            f"(or {list(profile.alpn_ws)} alone for a WebSocket)"
        )
    return reasons


def _http_reasons(record: ConnectionRecord, profile: BrowserProfile) -> list[str]:
    reasons: list[str] = []
    if record.alpn == "h2":
        if record.h2 is None or record.h2.settings is None:
            reasons.append("no HTTP/2 SETTINGS frame seen")
        elif record.h2.settings != profile.settings:
            settings = ";".join(f"{k}:{v}" for k, v in record.h2.settings)
            reasons.append(
                f"HTTP/2 SETTINGS {settings}, Chrome "
                + ";".join(f"{k}:{v}" for k, v in profile.settings)
            )
        if record.h2 is not None and record.h2.window_update != profile.window_update:
            reasons.append(
                f"HTTP/2 WINDOW_UPDATE {record.h2.window_update}, Chrome {profile.window_update}"
            )
        orders = sorted({r.pseudo_order for r in record.requests} - {profile.pseudo_order})
        if orders:
            reasons.append(f"pseudo-header order {orders}, Chrome {profile.pseudo_order}")
        return reasons
    hello = record.hello
    if hello is not None and hello.alpn != profile.alpn_ws:
        reasons.append(f"HTTP/1.1 negotiated with ALPN offer {list(hello.alpn)}")
    plain = [f"{r.method} {r.path}" for r in record.requests if not r.websocket]
    if plain:
        reasons.append(
            f"HTTP/1.1 request(s) that are not WebSocket upgrades ({', '.join(plain[:3])}): "
            "Chrome speaks HTTP/2 to an h2 server"
        )
    return reasons


def verdict(
    record: ConnectionRecord, profiles: tuple[BrowserProfile, ...] = CHROME_PROFILES
) -> Verdict:
    """Chrome or not, against the first matching profile; else the closest profile's reasons."""
    best: tuple[str, list[str]] | None = None
    for profile in profiles:
        reasons = _tls_reasons(record, profile) + _http_reasons(record, profile)
        if not reasons:
            return Verdict(True, profile.name)
        if best is None or len(reasons) < len(best[1]):
            best = (profile.name, reasons)
    if best is None:
        return Verdict(False, None, ("no browser profiles to compare with",))
    return Verdict(False, best[0], tuple(best[1]))


def is_chrome(
    record: ConnectionRecord, profiles: tuple[BrowserProfile, ...] = CHROME_PROFILES
) -> bool:
    return verdict(record, profiles).chrome
