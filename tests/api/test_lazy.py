"""The lazy ASGI wrapper the Vercel entry modules expose: nothing is built until the first call,
one build under concurrent first calls, a failed build is retried, lifespan passes through."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from grokgate.api.lazy import LazyApp, lazy_app


class _Recorder:
    """A factory whose apps answer 200 and count how often they were built."""

    def __init__(self, delay: float = 0.0, fail_first: bool = False) -> None:
        self.builds = 0
        self.delay = delay
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.builds += 1
            n = self.builds
        time.sleep(self.delay)  # widen the window in which a second builder could slip in
        if self.fail_first and n == 1:
            raise RuntimeError("first build fails")

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": str(n).encode()})

        return app


async def _get(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lazy.test") as client:
        return await client.get("/")


def test_lazy_app_builds_nothing_until_called() -> None:
    factory = _Recorder()
    app = LazyApp(factory)
    assert factory.builds == 0 and not app.built
    assert asyncio.run(_get(app)).text == "1"
    assert app.built
    assert asyncio.run(_get(app)).text == "1"
    assert factory.builds == 1


def test_lazy_app_builds_once_under_concurrent_first_calls_on_one_loop() -> None:
    factory = _Recorder(delay=0.01)
    app = LazyApp(factory)

    async def many() -> list[httpx.Response]:
        return await asyncio.gather(*(_get(app) for _ in range(20)))

    assert {r.text for r in asyncio.run(many())} == {"1"}
    assert factory.builds == 1


def test_lazy_app_builds_once_under_concurrent_first_calls_from_threads() -> None:
    factory = _Recorder(delay=0.05)
    app = LazyApp(factory)
    start = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        start.wait()
        seen.append(asyncio.run(_get(app)).text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert seen == ["1"] * 8
    assert factory.builds == 1


def test_lazy_app_retries_a_failed_build() -> None:
    factory = _Recorder(fail_first=True)
    app = LazyApp(factory)
    with pytest.raises(RuntimeError):
        asyncio.run(_get(app))
    assert not app.built
    assert asyncio.run(_get(app)).text == "2"


def test_lazy_app_needs_a_surface() -> None:
    with pytest.raises(ValueError):
        lazy_app(())


def test_lazy_app_passes_lifespan_through(settings_env: None) -> None:
    """Startup and shutdown reach the real app (Vercel's runtime runs lifespan="auto")."""
    app = lazy_app(("models",))
    assert not app.built

    async def lifespan() -> list[str]:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: list[str] = []
        for message in ("lifespan.startup", "lifespan.shutdown"):
            inbox.put_nowait({"type": message})

        async def send(message: Any) -> None:
            sent.append(message["type"])

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        await app(scope, inbox.get, send)
        return sent

    assert asyncio.run(lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert app.built
