"""Run any ASGI app under uvicorn in a daemon thread (tests, local demo mode).

Usage::

    with ServerThread(create_app(state)) as server:
        httpx.post(f"{server.url}/rest/rate-limits", ...)   # str(server) is the URL too

The listening socket is bound before the thread starts (port 0 picks a free port), so
``url`` is known at once. uvicorn installs no signal handlers off the main thread.
``python -m grokgate.simulator.server --account TOKEN:super`` serves the simulator alone.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

__all__ = ["BackgroundServer", "ServerThread", "main"]


class BackgroundServer:
    """What every loopback server thread offers: its URL as ``str()``, and ``with`` use."""

    url: str

    def start(self) -> str:
        raise NotImplementedError

    def stop(self, timeout: float | None = None) -> None:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.url

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ServerThread(BackgroundServer):
    """A uvicorn server on its own event loop in a daemon thread."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        *,
        graceful_timeout: int = 2,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.log_level = log_level
        self.graceful_timeout = graceful_timeout
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._error: BaseException | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("server not started")
        return self._url

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        return sock

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit on startup failure included
            self._error = exc

    def start(self) -> str:
        """Start serving; blocks until the server accepts connections. Returns the base URL."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._sock = self._bind()
        port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level=self.log_level,
            timeout_graceful_shutdown=self.graceful_timeout,
            lifespan="auto",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server failed to start: {self._error!r}")
            time.sleep(0.005)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"http://{host}:{port}"
        return self._url

    def stop(self, timeout: float | None = None) -> None:
        """Ask uvicorn to exit gracefully and join the thread (bounded wait)."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            limit = timeout if timeout is not None else self.graceful_timeout + 3.0
            thread.join(limit)
            if thread.is_alive():
                server.force_exit = True
                thread.join(2.0)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator in the foreground (demo mode)."""
    from .app import create_app
    from .state import SimState

    parser = argparse.ArgumentParser(description="grok.com simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--account", action="append", default=[], help="TOKEN[:TIER]")
    parser.add_argument("--accept-synthetic-statsig", action="store_true")
    parser.add_argument("--token-delay", type=float, default=0.02)
    args = parser.parse_args(argv)
    state = SimState()
    for spec in args.account or ["demo-sso-token:super"]:
        token, _, tier = spec.partition(":")
        state.add_account(token, tier or "super")
    app = create_app(
        state,
        accept_synthetic_statsig=args.accept_synthetic_statsig,
        token_delay=args.token_delay,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
