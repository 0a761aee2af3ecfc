"""The console's pages: log in and out, Pool, Health, Jobs, Playground, and their static files.

A page asked without a session redirects to the login page. Every change a page makes goes
through the JSON API (:mod:`grokgate.admin.api`) with the CSRF token the page carries.
"""

from __future__ import annotations

import time
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from grokgate.admin import views
from grokgate.admin.api import health_of
from grokgate.admin.auth import Admin, check_change, identify, session_required, signer_of
from grokgate.admin.schemas import AccountOut, JobOut
from grokgate.admin.session import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_SECONDS,
    cookie_header,
    is_https,
    login_token,
    same_origin,
    same_token,
)
from grokgate.api.deps import key_matches, runtime_of
from grokgate.core.registry import Kind
from grokgate.errors import InvalidRequestError, NotFoundError, PermissionDeniedError

STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "pool.js": "text/javascript; charset=utf-8",
    "health.js": "text/javascript; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
}

router = APIRouter()


def _secure(request: Request) -> bool:
    return is_https(request.url.scheme, request.headers)


def _to_login() -> RedirectResponse:
    return RedirectResponse("login", status_code=303)


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)


def _session_page(request: Request) -> tuple[Admin | None, str]:
    """The admin and the CSRF token of the page (empty for a bearer)."""
    admin = identify(request)
    if admin is None or admin.session is None:
        return admin, ""
    return admin, signer_of(request).csrf(admin.session)


def _renewed(request: Request, admin: Admin, response: Response) -> Response:
    """Slide a session past half its life forward (pages only: a script's cookie stays)."""
    session = admin.session
    if session is not None and session.expires_at - time.time() < SESSION_SECONDS / 2:
        fresh = signer_of(request).issue()
        response.headers.append(
            "set-cookie",
            cookie_header(COOKIE, fresh.value, max_age=SESSION_SECONDS, secure=_secure(request)),
        )
    return response


@router.get("/")
async def index(request: Request) -> Response:
    return RedirectResponse("pool" if identify(request) else "login", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login(request)


def _login(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = login_token()
    response = _html(views.login_page(token, error), status)
    response.headers.append(
        "set-cookie",
        cookie_header(LOGIN_COOKIE, token, max_age=LOGIN_SECONDS, secure=_secure(request)),
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    key, token = form.get("key"), form.get("csrf")
    if not isinstance(key, str) or not isinstance(token, str):
        raise InvalidRequestError("The login form needs the key.")
    if not same_origin(request.headers) or not same_token(request.cookies.get(LOGIN_COOKIE), token):
        raise PermissionDeniedError(
            "This login does not come from the console's own login page.", code="csrf_failed"
        )
    admin_key = runtime_of(request).settings.admin_key
    if admin_key is None or not key_matches(key.strip(), [admin_key]):
        return _login(request, "That is the wrong key: use GROKGATE_ADMIN_KEY.", 401)
    session = signer_of(request).issue()
    response = RedirectResponse("pool", status_code=303)
    secure = _secure(request)
    response.headers.append(
        "set-cookie", cookie_header(COOKIE, session.value, max_age=SESSION_SECONDS, secure=secure)
    )
    response.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, "", max_age=0, secure=secure))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    admin = identify(request)
    if admin is None:
        raise session_required()
    form = await request.form()
    token = form.get("csrf")
    check_change(request, admin, token if isinstance(token, str) else None)
    response = RedirectResponse("login", status_code=303)
    response.headers.append(
        "set-cookie", cookie_header(COOKIE, "", max_age=0, secure=_secure(request))
    )
    return response


@router.get("/pool")
async def pool(request: Request) -> Response:
    admin, csrf = _session_page(request)
    if admin is None:
        return _to_login()
    rt = runtime_of(request)
    now = time.time()
    accounts = [AccountOut.of(a, now) for a in await (await rt.store()).list_accounts()]
    html = views.pool_page(accounts, csrf, rt.settings.default_tier)
    return _renewed(request, admin, _html(html))


@router.get("/health")
async def health(request: Request) -> Response:
    admin, csrf = _session_page(request)
    if admin is None:
        return _to_login()
    rt = runtime_of(request)
    report = await health_of(rt)
    accounts = [AccountOut.of(a) for a in await (await rt.store()).list_accounts()]
    return _renewed(request, admin, _html(views.health_page(report, accounts, csrf)))


@router.get("/jobs")
async def jobs(request: Request, after: str | None = None) -> Response:
    admin, csrf = _session_page(request)
    if admin is None:
        return _to_login()
    store = await runtime_of(request).job_store()
    page, more = await store.list_all(after=after, limit=50)
    html = views.jobs_page([JobOut.of(j) for j in page], more, csrf)
    return _renewed(request, admin, _html(html))


@router.get("/playground")
async def playground(request: Request) -> Response:
    admin, csrf = _session_page(request)
    if admin is None:
        return _to_login()
    listed = runtime_of(request).registry().listed()
    chats = [m.id for m in listed if m.kind is Kind.CHAT]
    images = [m.id for m in listed if m.kind in (Kind.IMAGE, Kind.IMAGE_LITE)]
    return _renewed(request, admin, _html(views.playground_page(chats, images, csrf)))


@router.get("/static/{name}")
async def static(name: str) -> Response:
    """The console's own files (no CDN, no build step): a fixed list, from the package."""
    media_type = STATIC.get(name)
    if media_type is None:
        raise NotFoundError(f"Unknown path /admin/static/{name}", code="unknown_url")
    data = (resources.files("grokgate.admin") / "static" / name).read_bytes()
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})
