"""Serve any ASGI app with HTTP/2 under hypercorn in a daemon thread (tests, benches).

Usage::

    with Http2ServerThread(create_xai_app(state), tls=True) as server:
        async with httpx.AsyncClient(http2=True, verify=server.client_ssl_context()) as c:
            r = await c.get(f"{server.url}/v1/models", headers=...)
            assert r.http_version == "HTTP/2"

* ``tls=True``: ``https://`` with a throw-away CA from ``trustme`` (certificate for
  ``127.0.0.1`` and ``localhost``); ALPN offers ``h2`` and ``http/1.1``. ``ca_file`` is the
  CA's PEM path (``verify=server.ca_file`` also works). httpx negotiates HTTP/2 this way.
* ``tls=False``: ``http://``, where hypercorn speaks HTTP/1.1 and h2c (prior knowledge, or
  upgrade); httpx uses h2c only with ``http1=False, http2=True``.

The listening socket is bound (and listening) before the thread starts (port 0 picks a free
port), so ``url`` is known at once; ``start()`` returns once hypercorn serves. hypercorn and
trustme are test dependencies, imported on first use. hypercorn's ``TCPServer`` handles each
connection (h11 or h2), under our own accept loop: when an app fails after its response started
(the xAI fake's ``cut``) the connection is dropped (see :class:`_DropOnError`), and ``stop()``
drops, then aborts, what is still open after ``graceful_timeout``.

Demo mode: ``python -m grokgate.simulator.xai_server --key xai-demo-key`` serves the xAI fake
(uvicorn, HTTP/1.1); ``--http2`` serves it over TLS + HTTP/2 and prints the CA file to trust.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import socket
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from grokgate.simulator.server import BackgroundServer

__all__ = ["Http2ServerThread", "main"]


def _peer(address: Any) -> tuple[Any, ...]:
    """(host, port) of a socket address (IPv6 addresses have two more fields)."""
    return tuple(address[:2]) if isinstance(address, (tuple, list)) else (address,)


def _drop(writer: asyncio.StreamWriter) -> None:
    """End a connection without a proper response end: TLS ``close_notify`` (the TLS layer
    keeps reading until the peer answers), or a TCP half-close (FIN) for cleartext. Unlike an
    abort, no unread inbound bytes make the kernel send a RST, so a client reliably sees
    "server disconnected" (httpx ``RemoteProtocolError``) rather than a reset."""
    if writer.get_extra_info("ssl_object") is not None:
        writer.close()
    elif writer.can_write_eof():
        writer.write_eof()
    else:
        writer.transport.abort()


class _DropOnError:
    """ASGI wrapper: when the app fails after its response started (e.g. the xAI fake's
    ``cut`` fault), drop the connection (:func:`_drop`), as uvicorn closes an HTTP/1.1
    connection then. hypercorn alone would end the HTTP/2 stream without ``END_STREAM`` or
    ``RST_STREAM`` and leave the client waiting; dropping ends every stream of that connection
    (a client sees httpx ``RemoteProtocolError``)."""

    def __init__(self, app: Any, writers: dict[tuple[Any, ...], asyncio.StreamWriter]) -> None:
        self.app = app
        self.writers = writers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            writer = self.writers.get(_peer(scope.get("client") or ()))
            if started and writer is not None:
                _drop(writer)
            raise


class Http2ServerThread(BackgroundServer):
    """A hypercorn server (HTTP/2 capable) on its own event loop in a daemon thread."""

    def __init__(
        self,
        app: Any,
        *,
        tls: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        graceful_timeout: float = 2.0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.tls = tls
        self.host = host
        self.port = port
        self.graceful_timeout = graceful_timeout
        self.startup_timeout = startup_timeout
        self.ca_file: str | None = None
        self._dir: str | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._url: str | None = None
        self._writers: dict[tuple[Any, ...], asyncio.StreamWriter] = {}

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("server not started")
        return self._url

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's CA (``tls=True`` only)."""
        if self.ca_file is None:
            raise RuntimeError("no TLS: start the server with tls=True")
        return ssl.create_default_context(cafile=self.ca_file)

    def _certificates(self) -> tuple[str, str]:
        """Write a fresh CA and a server certificate; returns (server PEM, CA PEM) paths."""
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        self._dir = tempfile.mkdtemp(prefix="grokgate-h2-")
        server_pem = str(Path(self._dir, "server.pem"))
        ca_pem = str(Path(self._dir, "ca.pem"))
        cert.private_key_and_cert_chain_pem.write_to_path(server_pem)
        ca.cert_pem.write_to_path(ca_pem)
        return server_pem, ca_pem

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    async def _serve(self, config: Any) -> None:
        """hypercorn's connection handling (``TCPServer``: h11 / h2 by ALPN or preface) and
        lifespan, with our own accept loop so that connections can be aborted."""
        from hypercorn.asyncio.lifespan import Lifespan
        from hypercorn.asyncio.tcp_server import TCPServer
        from hypercorn.asyncio.worker_context import WorkerContext
        from hypercorn.utils import wrap_app

        assert self._sock is not None
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()  # type: ignore[assignment]
        stop = self._stop_event = asyncio.Event()
        app = wrap_app(_DropOnError(self.app, self._writers), config.wsgi_max_body_size, "asgi")
        lifespan_state: dict[str, Any] = {}
        lifespan = Lifespan(app, config, loop, lifespan_state)
        lifespan_task = loop.create_task(lifespan.handle_lifespan())
        await lifespan.wait_for_startup()
        context = WorkerContext(None)
        connections: set[asyncio.Task[Any]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            peer = _peer(writer.get_extra_info("peername"))
            self._writers[peer] = writer
            try:
                await TCPServer(app, loop, config, context, lifespan_state, reader, writer)
            except OSError:  # e.g. the peer kept sending after a cut's TLS close_notify
                pass
            finally:
                connections.discard(task)
                self._writers.pop(peer, None)

        server = await asyncio.start_server(
            on_connect,
            sock=self._sock,
            ssl=config.create_ssl_context() if self.tls else None,
            ssl_handshake_timeout=config.ssl_handshake_timeout if self.tls else None,
            backlog=config.backlog,
        )
        self._started.set()
        try:
            await stop.wait()
        finally:
            await context.terminated.set()
            server.close()
            # hypercorn closes idle connections at once (a TLS close then waits for the peer's
            # close_notify: abort those); busy ones get graceful_timeout, then are aborted
            deadline = loop.time() + self.graceful_timeout
            while connections and loop.time() < deadline:
                for writer in list(self._writers.values()):
                    if writer.transport.is_closing():
                        writer.transport.abort()
                await asyncio.wait(set(connections), timeout=0.02)
            for writer in list(self._writers.values()):  # still busy: drop, then abort
                _drop(writer)
            if connections:
                await asyncio.wait(set(connections), timeout=0.5)
            for writer in list(self._writers.values()):
                writer.transport.abort()
            if connections:
                await asyncio.wait(set(connections), timeout=1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)
            await lifespan.wait_for_shutdown()
            lifespan_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lifespan_task

    def _run(self, config: Any) -> None:
        try:
            with asyncio.Runner() as runner:
                self._loop = runner.get_loop()
                runner.run(self._serve(config))
        except BaseException as exc:  # startup failures included
            self._error = exc
        finally:
            self._started.set()

    def start(self) -> str:
        """Start serving; blocks until hypercorn serves. Returns the base URL."""
        from hypercorn.config import Config

        if self._thread is not None:
            raise RuntimeError("server already started")
        config = Config()
        config.graceful_timeout = self.graceful_timeout
        config.errorlog = logging.getLogger("hypercorn.error")
        config.accesslog = None
        if self.tls:
            config.certfile, self.ca_file = self._certificates()
            config.keyfile = config.certfile
        self._sock = self._bind()
        port = self._sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(config,), name=f"hypercorn-{port}", daemon=True
        )
        self._thread.start()
        if not self._started.wait(self.startup_timeout) or self._error is not None:
            error = self._error
            self.stop()
            raise RuntimeError(f"server failed to start: {error!r}")
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"{'https' if self.tls else 'http'}://{host}:{port}"
        return self._url

    def stop(self, timeout: float | None = None) -> None:
        """Ask hypercorn to exit gracefully and join the thread (bounded wait)."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            if self._stop_event is not None:
                loop.call_soon_threadsafe(self._stop_event.set)
            thread.join(timeout if timeout is not None else self.graceful_timeout + 3.0)
            if thread.is_alive() and self._task is not None:
                loop.call_soon_threadsafe(self._task.cancel)
                thread.join(2.0)
        if self._sock is not None:
            self._sock.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._sock = self._thread = self._loop = self._stop_event = self._task = None
        self._dir = self.ca_file = self._url = None
        self._writers.clear()
        self._started = threading.Event()
        self._error = None


def main(argv: list[str] | None = None) -> None:
    """Serve the xAI fake in the foreground (demo mode)."""
    from .xai import create_xai_app
    from .xai_state import XaiState

    parser = argparse.ArgumentParser(description="fake of the official xAI API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--key", action="append", default=[], help="accepted API key")
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--http2", action="store_true", help="TLS + HTTP/2 (hypercorn)")
    args = parser.parse_args(argv)
    app = create_xai_app(XaiState(args.key or ["xai-demo-key"]), token_delay=args.token_delay)
    if not args.http2:
        import uvicorn

        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
        return
    server = Http2ServerThread(app, tls=True, host=args.host, port=args.port)
    server.start()
    print(f"xAI fake on {server.url} (HTTP/2; CA certificate: {server.ca_file})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
