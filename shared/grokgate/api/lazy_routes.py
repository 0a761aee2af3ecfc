"""Routes built on their first request: a function that serves several APIs builds only the
one its first request needs.

The chat function serves Chat Completions, Responses, Conversations and Anthropic Messages.
Importing and registering all of their routes is about a third of its cold start, yet a cold
instance is usually woken by one kind of request. :class:`LazyRoutes` stands in the app's
route list for the routes under some path prefixes: the first request under one of them builds
a small FastAPI app holding those routers (with the same error handlers, JSON checks and
runtime) and every later request goes straight to it. The outer app's middleware (host check,
CORS, limits, API key) has already run by then, as for any route.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, Depends, FastAPI
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from grokgate.api.lazy import LazyApp

__all__ = ["LazyRoutes"]


class LazyRoutes(BaseRoute):
    """Every request whose path is one of ``prefixes`` or lies below one goes to the app
    :meth:`build` makes from ``load()``'s routers, built once, on the first such request."""

    def __init__(
        self,
        prefixes: Sequence[str],
        load: Callable[[], list[APIRouter]],
        configure: Callable[[FastAPI], None],
        *,
        name: str,
    ) -> None:
        self.prefixes = tuple(prefixes)
        self._load = load
        self._configure = configure
        self.app = LazyApp(self.build, name=name)

    def build(self) -> FastAPI:
        from grokgate.api.json_text import valid_json_text

        sub = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
        self._configure(sub)  # the outer app's runtime and error handlers
        for router in self._load():
            sub.include_router(router, dependencies=[Depends(valid_json_text)])
        return sub

    def _under(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return (Match.FULL, {}) if self._under(path) else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: object) -> object:
        raise NoMatchFound(name, path_params)
