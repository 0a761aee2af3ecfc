"""``/admin``: the console (:mod:`grokgate.admin`), mounted only while ``GROKGATE_ADMIN_KEY`` is
set, and built on the first ``/admin`` request: the models function's cold start, which every
client request pays, never loads it.

``GET /admin/doctor[?account=ID]`` (the doctor as JSON, for the cloud) is one of its routes,
with the admin key as a bearer as before.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from grokgate.api.lazy import ASGIApp, LazyApp


async def _to_console(request: Request) -> Response:
    return RedirectResponse("admin/", status_code=303)  # relative: a stage prefix is kept


def mount_console(app: FastAPI) -> None:
    """Route ``/admin`` and ``/admin/...`` to the console, built on its first request."""

    def build() -> ASGIApp:
        from grokgate.admin.app import create_console

        return create_console(app.state.runtime)

    app.router.routes.append(Route("/admin", _to_console, methods=["GET"]))
    app.router.routes.append(Mount("/admin", app=LazyApp(build, name="console")))
