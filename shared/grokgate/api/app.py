"""The ASGI app factory: one app per function (a subset of surfaces) or all of them locally.

Creating the app builds routes only; the runtime (store, clients) is built on first use.
Errors from anywhere are rendered here, in the format of the API the request was made to: each
renderer says which paths it applies to (Anthropic's for ``/v1/messages``), OpenAI's is the
default.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

import grokgate
from grokgate.api.guards import ApiKeyRequired, ConcurrencyLimit, HostAllowList, LoopbackOnly
from grokgate.api.json_text import valid_json_text
from grokgate.api.limits import BodyReadTimeout, BodySizeLimit, request_limit
from grokgate.api.openai.errors import error_response
from grokgate.config import Settings, get_settings
from grokgate.errors import (
    GrokGateError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
)
from grokgate.logs import get_logger
from grokgate.runtime import Runtime

log = get_logger("app")

SURFACES = ("models", "chat", "images", "videos")


def routers(surface: str, settings: Settings) -> list[APIRouter]:
    """The routers one surface serves. Local media URLs (``/media/...``) come with the media
    surfaces only when media is kept locally; in the cloud it is in S3."""
    if surface == "models":
        from grokgate.api.openai.models_routes import router as models_router

        return [models_router]  # and the console, mounted by create_app (admin_routes)
    if surface == "chat":
        from grokgate.api.openai.routes import chat_router

        return [chat_router, *_chat_apis()]
    if surface in ("images", "videos"):
        if surface == "images":
            from grokgate.api.openai.images_routes import router
        else:
            from grokgate.api.openai.videos_routes import router
        if settings.media != "local":
            return [router]
        from grokgate.api.media_routes import router as media_router

        return [router, media_router]
    raise ValueError(f"unknown surface {surface!r}")


#: Paths of the chat surface's other APIs, which a deployed chat function builds only on the
#: first request under one of them (grokgate.api.lazy_routes)
CHAT_APIS = ("/v1/responses", "/v1/conversations", "/v1/messages")


def _chat_apis() -> list[APIRouter]:
    """The routers serving :data:`CHAT_APIS`: Responses, Conversations, Anthropic Messages."""
    from grokgate.api.anthropic.routes import router as messages_router
    from grokgate.api.openai.conversations_routes import router as conversations_router
    from grokgate.api.openai.responses_routes import router as responses_router

    return [responses_router, conversations_router, messages_router]


def stores_of(surfaces: Iterable[str]) -> frozenset[str]:
    """The stores an app serving ``surfaces`` may open: those the functions serving them
    name in :mod:`grokgate.manifest` (all of them for the local server's every surface)."""
    from grokgate.manifest import BY_SURFACE

    return frozenset(
        str(store) for s in surfaces if s in BY_SURFACE for store in BY_SURFACE[s].stores
    )


def route_table(surfaces: Iterable[str], settings: Settings) -> set[tuple[str, str]]:
    """``(path, method)`` for every route the app for ``surfaces`` serves, ``/health`` included:
    what ``template.yaml`` and ``vercel.json`` must route (their tests compare)."""
    table = {("/health", "GET")}
    for surface in surfaces:
        for router in routers(surface, settings):
            for route in router.routes:
                if isinstance(route, APIRoute):
                    table.update((route.path, method) for method in route.methods)
    return table


Renderer = Callable[[GrokGateError], JSONResponse]


def _anthropic_applies(path: str) -> bool:
    return path == "/v1/messages" or path.startswith("/v1/messages/")


def _render_anthropic(error: GrokGateError) -> JSONResponse:
    from grokgate.api.anthropic.errors import error_response as anthropic_error

    return anthropic_error(error)


# (applies to this path?, renderer), first match wins; OpenAI's format is the default
RENDERERS: tuple[tuple[Callable[[str], bool], Renderer], ...] = (
    (_anthropic_applies, _render_anthropic),
)


def render_error(request: Request, error: GrokGateError) -> JSONResponse:
    for applies, renderer in RENDERERS:
        if applies(request.url.path):
            return renderer(error)
    return error_response(error)


_SOURCES = ("body", "query", "path", "header", "cookie")


def _validation_error(exc: RequestValidationError) -> GrokGateError:
    errors = exc.errors()
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    loc = [str(p) for p in first.get("loc", ())]
    if loc and loc[0] in _SOURCES:  # ("query", "order") names the parameter "order"
        loc = loc[1:]
    if kind == "json_invalid":
        return InvalidRequestError(
            "We could not parse the JSON body of your request: it is not valid JSON.",
            code="invalid_json",
        )
    if not loc:
        return InvalidRequestError("The request body must be a JSON object.", code="invalid_body")
    param = loc[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
    msg = first.get("msg", "invalid value")
    return InvalidRequestError(f"Invalid value for '{param}': {msg}", param=param)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GrokGateError)
    async def _ours(request: Request, exc: GrokGateError) -> JSONResponse:
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return render_error(request, _validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            error: GrokGateError = MethodNotAllowedError(
                f"Method {request.method} is not allowed on {request.url.path}"
            )
        elif exc.status_code == 404:
            error = NotFoundError(f"Unknown path {request.url.path}", code="unknown_url")
        elif exc.status_code < 500:  # FastAPI's own 400 (a body it could not parse) and others
            error = InvalidRequestError(str(exc.detail))
            error.status = exc.status_code
        else:
            error = GrokGateError(str(exc.detail))
            error.status = exc.status_code
        return render_error(request, error)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return render_error(request, GrokGateError("internal server error"))


def create_app(
    surfaces: Iterable[str] = SURFACES,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    lazy_routes: bool = False,
) -> FastAPI:
    """The gateway's app for ``surfaces``. ``lazy_routes`` (a deployed function): the chat
    surface's Responses, Conversations and Messages routes are built on their first request."""
    surfaces = tuple(surfaces)
    chosen = settings or (runtime.settings if runtime else get_settings())
    state = runtime or Runtime(chosen, stores=stores_of(surfaces))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not chosen.auth_enabled:
            log.warning(
                "GROKGATE_API_KEYS is empty: this gateway is OPEN to anyone on this machine "
                "(it answers loopback clients only)"
            )
        from grokgate.core.usage import warm_up

        threading.Thread(target=warm_up, name="tiktoken-warm-up", daemon=True).start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if chosen.sweeps_locally:
                    from grokgate.background import every

                    await stack.enter_async_context(
                        every(chosen.sweep_seconds, state.sweep, what="sweeping expired files")
                    )
                yield
        finally:
            await state.aclose()

    app = FastAPI(
        title="grokgate",
        version=grokgate.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # its Location would be built from the (client's) Host header
    )
    app.state.runtime = state
    # the last added runs first: Host check, CORS, concurrency, loopback-only (open gateway),
    # body timeout, body size, API key (before FastAPI reads the body). Added before CORS, so
    # CORS wraps them: a 413 or 401 carries CORS headers
    if chosen.auth_enabled:
        app.add_middleware(ApiKeyRequired, keys=chosen.api_keys, render=render_error)
    body = request_limit(chosen)  # GROKGATE_MAX_BODY_BYTES, or Lambda's / Vercel's if lower
    app.add_middleware(
        BodySizeLimit, max_bytes=body.max_bytes, platform=body.platform, render=render_error
    )
    app.add_middleware(BodyReadTimeout, seconds=chosen.body_timeout, render=render_error)
    if not chosen.auth_enabled:
        app.add_middleware(LoopbackOnly, render=render_error)
    app.add_middleware(ConcurrencyLimit, limit=chosen.max_concurrent_requests, render=render_error)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=chosen.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    app.add_middleware(HostAllowList, allowed=chosen.allowed_host_list, render=render_error)
    install_error_handlers(app)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": grokgate.__version__}

    included: list[APIRouter] = []
    for surface in surfaces:
        if surface == "models" and chosen.admin_key is not None:
            from grokgate.api.admin_routes import mount_console

            mount_console(app)  # /admin: built on its first request
        if surface == "chat" and lazy_routes:
            from grokgate.api.lazy_routes import LazyRoutes
            from grokgate.api.openai.routes import chat_router

            def configure(sub: FastAPI) -> None:
                sub.state.runtime = state
                install_error_handlers(sub)

            app.include_router(chat_router, dependencies=[Depends(valid_json_text)])
            app.router.routes.append(LazyRoutes(CHAT_APIS, _chat_apis, configure, name="chat"))
            continue
        for router in routers(surface, chosen):
            if router not in included:  # images and videos share the media router
                included.append(router)
                app.include_router(router, dependencies=[Depends(valid_json_text)])
    return app
