"""A proxy in a daemon thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from grokgate.simulator.proxies.base import LoopbackProxy, ProxyRecord
from grokgate.simulator.server import BackgroundServer


class ProxyThread(BackgroundServer):
    """A proxy on its own event loop in a daemon thread (bound before the thread starts).

    ``kill()`` (``stop()``) closes the listener and every tunnel; ``start()`` again revives it
    on the same port."""

    def __init__(self, proxy: LoopbackProxy, *, startup_timeout: float = 10.0) -> None:
        self.proxy = proxy
        self.startup_timeout = startup_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def records(self) -> list[ProxyRecord]:
        return self.proxy.records

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("proxy already started")
        sock, loop = self.proxy.bind(), asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            try:
                loop.run_until_complete(self.proxy.listen(sock))
                loop.call_soon(ready.set)
                loop.run_forever()
            finally:
                ready.set()
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"proxy-{self.proxy.port}", daemon=True)
        self._thread.start()
        if not ready.wait(self.startup_timeout) or self.proxy._server is None:
            self.stop()
            raise RuntimeError("proxy failed to start")
        return self.url

    def stop(self, timeout: float | None = None) -> None:
        loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.proxy.stop(), loop).result(timeout or 5.0)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout or 5.0)

    kill = stop
