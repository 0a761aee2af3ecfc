"""The console as a sub-application of the gateway, mounted on ``/admin`` (built by
:mod:`grokgate.api.admin_routes` on the first ``/admin`` request): the pages, the JSON API, the
gateway's error rendering, and security headers on every answer."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grokgate.runtime import Runtime

# No inline script or style, nothing from another origin; pictures may come from the media
# bucket's signed URLs (https:) or arrive as data: / blob: URLs.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "media-src 'self' https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make Origin "null"
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds :data:`HEADERS` to every answer, and ``Cache-Control: no-store`` unless set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in names)
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_console(runtime: Runtime) -> FastAPI:
    from grokgate.admin.api import router as api_router
    from grokgate.admin.pages import router as pages_router
    from grokgate.api.app import install_error_handlers

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(pages_router)
    app.include_router(api_router)
    app.add_middleware(SecurityHeaders)
    return app
