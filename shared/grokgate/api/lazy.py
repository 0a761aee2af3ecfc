"""A lazily built ASGI app, for hosts that import a module and look for a module-level ``app``.

Vercel's Python runtime imports each function's entry module and serves its ``app``. Building the
FastAPI app there at import would pull in FastAPI, pydantic and every route module before the
host has even asked for a request; :func:`lazy_app` returns a small ASGI callable instead that
builds ``create_app(surfaces=...)`` on its first call (HTTP or lifespan) and forwards every call,
lifespan included, to that one app.

This module imports nothing heavy: only the standard library.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Factory = Callable[[], ASGIApp]


class LazyApp:
    """An ASGI app that builds the real app with ``factory`` on its first call, once.

    The build is synchronous and guarded by a lock with a second check inside it, so concurrent
    first calls (coroutines on one event loop, or several threads, each with its own loop) build
    exactly one app and all use it. A build that raises is not remembered: the next call tries
    again. Lifespan scopes are forwarded like any other, so the real app's startup and shutdown
    run when the host sends them.
    """

    def __init__(self, factory: Factory, name: str = "app") -> None:
        self._factory = factory
        self._name = name
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """Whether the real app has been built yet."""
        return self._app is not None

    def get(self) -> ASGIApp:
        """The real app, built now if it was not yet."""
        app = self._app
        if app is None:
            with self._lock:
                app = self._app
                if app is None:
                    app = self._factory()
                    self._app = app
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.get()(scope, receive, send)

    def __repr__(self) -> str:
        state = "built" if self.built else "not built"
        return f"<LazyApp {self._name} ({state})>"


def lazy_app(surfaces: Iterable[str]) -> LazyApp:
    """An ASGI app serving ``surfaces`` that builds ``create_app(surfaces=...)`` on first call.

    The surfaces are checked against :data:`grokgate.api.app.SURFACES` only when the app is
    built, so that importing an entry module stays cheap.
    """
    chosen = tuple(surfaces)
    if not chosen:
        raise ValueError("lazy_app needs at least one surface")

    def build() -> ASGIApp:
        from grokgate.api.app import create_app

        return create_app(surfaces=chosen, lazy_routes=True)  # a deployed function

    return LazyApp(build, name="+".join(chosen))
