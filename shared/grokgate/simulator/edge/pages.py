"""Cloudflare's answers (block page, managed challenge, challenge solved) and ``cf_clearance``.

A clearance is stateless: ``<sig>-<issued>-1.2.1.1-<nonce>`` where ``sig`` is an HMAC over
``ip|user-agent|issued|nonce`` with a per-edge secret; it is valid for ``ttl`` seconds, for that
source IP and that User-Agent only. :meth:`Clearances.revoke` rotates the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "SOLVE_PATH",
    "TRACE_PATH",
    "Clearances",
    "LocalResponse",
    "bad_gateway_page",
    "block_page",
    "challenge_page",
    "cookie_domain",
    "ray_id",
    "solved_page",
]

SOLVE_PATH = "/cdn-cgi/challenge-platform/solve"
TRACE_PATH = "/cdn-cgi/trace"  # every Cloudflare site answers it: who the edge sees
_HTML = "text/html; charset=UTF-8"
_NO_STORE = "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0"


@dataclass
class LocalResponse:
    """A response the edge answers itself (never forwarded)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def ray_id() -> str:
    return secrets.token_hex(8) + "-SJC"


def _http_date(now: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))


def _common(ray: str, now: float) -> list[tuple[str, str]]:
    return [
        ("date", _http_date(now)),
        ("content-type", _HTML),
        ("cache-control", _NO_STORE),
        ("expires", "Thu, 01 Jan 1970 00:00:01 GMT"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "SAMEORIGIN"),
        ("server", "cloudflare"),
        ("cf-ray", ray),
    ]


def block_page(client_ip: str, host: str, now: float | None = None) -> LocalResponse:
    """403 "Attention Required! | Cloudflare" — the fingerprint was refused."""
    ray = ray_id()
    body = (
        '<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> '
        '<![endif]-->\n<html class="no-js" lang="en-US">\n<head>\n'
        "<title>Attention Required! | Cloudflare</title>\n"
        '<meta charset="UTF-8" />\n<meta name="robots" content="noindex, nofollow" />\n'
        '<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/cf.errors.css" />\n'
        '</head>\n<body>\n<div id="cf-wrapper">\n<div id="cf-error-details" '
        'class="cf-error-details-wrapper">\n<div class="cf-wrapper cf-header cf-error-overview">'
        '\n<h1 data-translate="block_headline">Sorry, you have been blocked</h1>\n'
        f'<h2 class="cf-subheadline"><span data-translate="unable_to_access">You are unable to '
        f"access</span> {host}</h2>\n</div>\n"
        '<div class="cf-section cf-wrapper"><p data-translate="blocked_why_detail">This website '
        "is using a security service to protect itself from online attacks. The action you just "
        "performed triggered the security solution.</p></div>\n"
        '<div class="cf-error-footer cf-wrapper"><p>Cloudflare Ray ID: '
        f'<strong class="font-semibold">{ray.split("-")[0]}</strong> &bull; Your IP: '
        f'<span class="hidden" id="cf-footer-ip">{client_ip}</span> &bull; Performance &amp; '
        "security by Cloudflare</p></div>\n</div>\n</div>\n</body>\n</html>\n"
    ).encode()
    now = time.time() if now is None else now
    return LocalResponse(403, _common(ray, now), body)


def challenge_page(host: str, now: float | None = None) -> LocalResponse:
    """403 "Just a moment..." managed challenge with ``cf-mitigated: challenge``."""
    ray = ray_id()
    body = (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta http-equiv="X-UA-Compatible" content="IE=Edge">'
        '<meta name="robots" content="noindex,nofollow">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="refresh" content="360"></head><body>'
        '<div class="main-wrapper" role="main"><div class="main-content">'
        f'<h1 class="zone-name-title h1">{host}</h1>'
        '<h2 class="h2" id="challenge-running">Verifying you are human. This may take a few '
        "seconds.</h2><noscript>Enable JavaScript and cookies to continue</noscript></div></div>"
        "<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "
        f"'{host}',cType: 'managed',cRay: '{ray.split('-')[0]}',cH: "
        f"'{secrets.token_urlsafe(24)}',cUPMDTk: '/?__cf_chl_tk={secrets.token_urlsafe(16)}',"
        "cFPWv: 'b',cITimeS: '" + str(int(time.time() if now is None else now)) + "'};"
        "var cpo = document.createElement('script');"
        "cpo.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray="
        f"{ray.split('-')[0]}';window._cf_chl_opt.cOgUHash = location.hash;"
        "document.getElementsByTagName('head')[0].appendChild(cpo);}());</script>"
        "</body></html>"
    ).encode()
    now = time.time() if now is None else now
    headers = [*_common(ray, now), ("cf-mitigated", "challenge")]
    headers += [
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("permissions-policy", "accelerometer=(),camera=(),geolocation=(),microphone=()"),
    ]
    return LocalResponse(403, headers, body)


def bad_gateway_page(host: str, now: float | None = None) -> LocalResponse:
    """502 when the backend cannot be reached."""
    body = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>"
        b"502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n"
        b"</html>\r\n"
    )
    now = time.time() if now is None else now
    headers = [h for h in _common(ray_id(), now) if h[0] != "x-frame-options"]
    return LocalResponse(502, headers, body)


def cookie_domain(host: str) -> str:
    """The cookie Domain for a request host: ``.grok.com`` under grok.com, else the host."""
    if host.startswith("["):
        name = host[1:].split("]", 1)[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower()
    if name == "grok.com" or name.endswith(".grok.com"):
        return ".grok.com"
    return name


def solved_page(clearance: str, cf_bm: str, host: str, ttl: float, now: float) -> LocalResponse:
    """200 with ``Set-Cookie: cf_clearance`` and ``__cf_bm``."""
    domain = cookie_domain(host)
    expires = _http_date(now + ttl)
    headers = [
        ("date", _http_date(now)),
        ("content-type", "application/json"),
        ("cache-control", _NO_STORE),
        ("server", "cloudflare"),
        ("cf-ray", ray_id()),
        (
            "set-cookie",
            f"cf_clearance={clearance}; Path=/; Expires={expires}; Domain={domain}; "
            "HttpOnly; Secure; SameSite=None",
        ),
        (
            "set-cookie",
            f"__cf_bm={cf_bm}; Path=/; Expires={_http_date(now + 1800)}; Domain={domain}; "
            "HttpOnly; Secure; SameSite=None",
        ),
    ]
    return LocalResponse(200, headers, b'{"success":true}')


class Clearances:
    """Mint and check ``cf_clearance`` values bound to (source IP, User-Agent)."""

    def __init__(self, ttl: float = 1800.0, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.clock = clock
        self._secret = secrets.token_bytes(32)

    def _sign(self, ip: str, user_agent: str, issued: int, nonce: str) -> str:
        msg = f"{ip}|{user_agent}|{issued}|{nonce}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def mint(self, ip: str, user_agent: str) -> str:
        issued = int(self.clock())
        nonce = secrets.token_hex(12)
        return f"{self._sign(ip, user_agent, issued, nonce)}-{issued}-1.2.1.1-{nonce}"

    def check(self, value: str | None, ip: str, user_agent: str) -> str | None:
        """None when valid, else why not (missing, malformed, expired, wrong IP/UA/secret)."""
        if not value:
            return "no cf_clearance cookie"
        parts = value.split("-")
        if len(parts) != 4 or not parts[1].isdigit() or parts[2] != "1.2.1.1":
            return "malformed cf_clearance"
        sig, issued_text, _, nonce = parts
        issued = int(issued_text)
        age = self.clock() - issued
        if age > self.ttl:
            return "cf_clearance expired"
        if age < -60:
            return "cf_clearance issued in the future"
        if not hmac.compare_digest(sig, self._sign(ip, user_agent, issued, nonce)):
            return "cf_clearance not issued to this IP and User-Agent (or revoked)"
        return None

    def revoke(self) -> None:
        """Invalidate every clearance minted so far (rotate the secret)."""
        self._secret = secrets.token_bytes(32)


def trace_page(
    ip: str, host: str, user_agent: str | None, alpn: str | None, now: float
) -> LocalResponse:
    """``/cdn-cgi/trace``: Cloudflare's plain-text view of the client (its address first)."""
    lines = [
        "fl=29f1",
        f"h={host.split(':')[0]}",
        f"ip={ip}",
        f"ts={now:.3f}",
        "visit_scheme=https",
        f"uag={user_agent or ''}",
        "colo=SJC",
        f"http={'http/2' if alpn == 'h2' else 'http/1.1'}",
        "loc=US",
        "tls=TLSv1.3",
        "warp=off",
    ]
    body = ("\n".join(lines) + "\n").encode()
    return LocalResponse(200, [("content-type", "text/plain"), ("server", "cloudflare")], body)
