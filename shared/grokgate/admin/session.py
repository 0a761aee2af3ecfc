"""The console's session: a signed cookie, no server-side state, so any instance (another
Lambda, another process) accepts what another issued.

The signing key is derived from ``GROKGATE_ADMIN_KEY`` (HMAC-SHA256 with a fixed label), so
changing the admin key ends every session, and the key itself never leaves the server: the
cookie holds an expiry, a random nonce and their signature. The CSRF token of a session is
another HMAC of its nonce: pages carry it, every change sends it back in ``X-CSRF-Token`` (or a
form field), and it cannot be derived without the key.

The login form has its own double-submit token: a random value in a short-lived cookie and the
same value in the form, compared on ``POST /admin/login`` together with the request's origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

COOKIE = "grokgate_admin"
LOGIN_COOKIE = "grokgate_admin_login"
SESSION_SECONDS = 1800  # half an hour; renewed by pages once half of it has passed
LOGIN_SECONDS = 600
_LABEL = b"grokgate-admin-session-v1"
_VERSION = "v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Session:
    value: str  # the cookie's value
    nonce: str
    expires_at: float


class SessionSigner:
    """Issues and checks session cookies and their CSRF tokens for one admin key."""

    def __init__(self, admin_key: str) -> None:
        self._key = hmac.new(admin_key.encode(), _LABEL, hashlib.sha256).digest()

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def issue(self, now: float | None = None, seconds: float = SESSION_SECONDS) -> Session:
        """A new session that expires ``seconds`` from ``now``."""
        expires = int((time.time() if now is None else now) + seconds)
        nonce = secrets.token_urlsafe(16)
        payload = f"{_VERSION}.{expires}.{nonce}"
        return Session(f"{payload}.{self._sign(payload)}", nonce, float(expires))

    def check(self, value: str | None, now: float | None = None) -> Session | None:
        """The session ``value`` carries if it is ours and not expired; else None."""
        if not value or len(value) > 256:
            return None
        parts = value.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[1].isdigit():
            return None
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(payload), parts[3]):
            return None
        expires = float(parts[1])
        if expires <= (time.time() if now is None else now):
            return None
        return Session(value, parts[2], expires)

    def csrf(self, session: Session) -> str:
        """The CSRF token of ``session``."""
        return self._sign(f"csrf.{session.nonce}")

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(session), token or "")


def login_token() -> str:
    """A fresh double-submit token for the login form."""
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest((a or "").encode(), (b or "").encode())


def is_https(scheme: str, headers: Mapping[str, str]) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a proxy that says so
    (API Gateway and Vercel set ``X-Forwarded-Proto``)."""
    forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return scheme == "https" or forwarded == "https"


def same_origin(headers: Mapping[str, str]) -> bool:
    """Whether a change comes from a page of this host: its ``Origin`` names our ``Host`` (or,
    without an ``Origin``, the browser's ``Sec-Fetch-Site`` does not say another site)."""
    site = headers.get("sec-fetch-site", "").lower()
    if site and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def cookie_header(
    name: str, value: str, *, max_age: int, secure: bool, http_only: bool = True
) -> str:
    """A ``Set-Cookie`` value: Path=/ (API Gateway's stage prefix is part of the path the
    browser sees), SameSite=Strict, HttpOnly, Secure over HTTPS."""
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "SameSite=Strict"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
