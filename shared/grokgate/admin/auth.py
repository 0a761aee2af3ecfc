"""Who may use the console: the session cookie, or ``Authorization: Bearer <admin key>`` (also
``x-admin-key``) for scripts. A change (any method but GET/HEAD) made with the cookie must also
come from this host's pages: the same origin and the session's CSRF token. A bearer needs
neither, since a browser never adds it by itself."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from fastapi import Request

from grokgate.admin.session import COOKIE, Session, SessionSigner, same_origin
from grokgate.api.deps import key_matches, runtime_of
from grokgate.errors import AuthenticationError, NotFoundError, PermissionDeniedError

SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Admin:
    via: Literal["cookie", "bearer"]
    session: Session | None = None


@cache
def _signer(admin_key: str) -> SessionSigner:
    return SessionSigner(admin_key)


def signer_of(request: Request) -> SessionSigner:
    key = runtime_of(request).settings.admin_key
    if key is None:  # the console is not even mounted then
        raise NotFoundError("Not Found")
    return _signer(key.get_secret_value())


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    supplied = value.strip() if scheme.lower() == "bearer" else ""
    return supplied or request.headers.get("x-admin-key") or None


def identify(request: Request) -> Admin | None:
    """The admin behind ``request``, or None."""
    signer = signer_of(request)
    supplied = _bearer(request)
    settings = runtime_of(request).settings
    if supplied is not None:
        assert settings.admin_key is not None
        return Admin("bearer") if key_matches(supplied, [settings.admin_key]) else None
    session = signer.check(request.cookies.get(COOKIE))
    return Admin("cookie", session) if session is not None else None


def session_required() -> AuthenticationError:
    return AuthenticationError(
        "The console needs a session (log in at /admin/login) or the admin key as "
        "'Authorization: Bearer <GROKGATE_ADMIN_KEY>'.",
        code="admin_session_required",
    )


def check_change(request: Request, admin: Admin, form_token: str | None = None) -> None:
    """Refuse a cookie-authenticated change that is not same-origin with the right token."""
    if admin.via == "bearer" or request.method in SAFE_METHODS:
        return
    assert admin.session is not None
    token = request.headers.get("x-csrf-token") or form_token
    if not same_origin(request.headers):
        raise PermissionDeniedError(
            "This change does not come from the console's own pages.", code="csrf_failed"
        )
    if not signer_of(request).csrf_ok(admin.session, token):
        raise PermissionDeniedError(
            "This change lacks the console's CSRF token (X-CSRF-Token).", code="csrf_failed"
        )


async def require_admin(request: Request) -> Admin:
    """The API's dependency: 401 without a session or the key, 403 for a forged change."""
    admin = identify(request)
    if admin is None:
        raise session_required()
    check_change(request, admin)
    return admin
