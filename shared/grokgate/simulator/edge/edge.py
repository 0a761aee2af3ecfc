"""A Cloudflare-like TLS edge in front of a plain-HTTP backend (the grok.com simulator).

Usage::

    async with Edge(sim_url, mode="cloudflare") as edge:          # in a test's event loop
        async with AsyncSession(impersonate="chrome146", verify=edge.ca_file) as s:
            r = await s.get(f"{edge.url}/rest/app-chat/...")       # 403 challenge at first
    with EdgeThread(sim_url) as edge:                              # in a background thread
        ...; edge.connections[-1].ja4; verdict(edge.connections[-1])

The edge reads the raw ClientHello before the TLS handshake (``ssl.SSLObject`` over memory
BIOs), serves ALPN ``h2`` and ``http/1.1``, records every connection
(:class:`ConnectionRecord`) and forwards each request to the backend with
``x-edge-client-ip: <source ip>``.

Modes:

* ``probe``: record and forward everything.
* ``cloudflare``: a connection whose fingerprint is not Chrome (:func:`verdict`) gets the 403
  block page for every request; a Chrome request without a valid ``cf_clearance`` (minted by
  this edge for that source IP and User-Agent, see :class:`Clearances`) gets the 403 "Just a
  moment..." challenge; ``GET /cdn-cgi/challenge-platform/solve`` from a Chrome connection
  mints one. ``require_clearance=False`` keeps only the fingerprint check.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, Self

from ..server import BackgroundServer
from .forward import Backend
from .h1 import H1Handler
from .h2conn import H2Handler
from .h2wire import H2Sniffer
from .hello import ClientHello
from .pages import (
    SOLVE_PATH,
    TRACE_PATH,
    Clearances,
    LocalResponse,
    bad_gateway_page,
    block_page,
    challenge_page,
    ray_id,
    solved_page,
    trace_page,
)
from .records import ConnectionRecord, RequestRecord
from .tlsio import EdgeCertificates, TlsStream, read_client_hello
from .verdict import CHROME_PROFILES, BrowserProfile, Verdict, verdict

__all__ = ["Edge", "EdgeMode", "EdgeThread"]

EdgeMode = Literal["probe", "cloudflare"]


class Edge:
    """The edge on the current event loop; ``await start()`` / ``await stop()`` or
    ``async with``. ``certificates`` (or a ready ``ssl_context``) default to a fresh trustme
    CA; ``ca_file`` is then the PEM path a client must trust."""

    def __init__(
        self,
        backend: str | BackgroundServer,
        *,
        mode: EdgeMode = "probe",
        host: str = "127.0.0.1",
        port: int = 0,
        certificates: EdgeCertificates | None = None,
        ssl_context: ssl.SSLContext | None = None,
        require_clearance: bool = True,
        clearance_ttl: float = 1800.0,
        clock: Callable[[], float] = time.time,
        profiles: tuple[BrowserProfile, ...] = CHROME_PROFILES,
        backend_timeout: float = 300.0,
        handshake_timeout: float = 10.0,
    ) -> None:
        if mode not in ("probe", "cloudflare"):
            raise ValueError(f"unknown edge mode {mode!r}")
        self.backend_url = str(backend)
        self.mode: EdgeMode = mode
        self.host = host
        self.port = port
        self.require_clearance = require_clearance
        self.clock = clock
        self.profiles = profiles
        self.backend_timeout = backend_timeout
        self.handshake_timeout = handshake_timeout
        self.clearances = Clearances(clearance_ttl, clock)
        self._own_certs = certificates is None and ssl_context is None
        self.certificates = certificates
        self._ssl_context = ssl_context
        self.connections: list[ConnectionRecord] = []
        self.challenges: Counter[str] = Counter()
        self.clearances_issued: Counter[str] = Counter()
        self.blocks: Counter[str] = Counter()
        self._backend: Backend | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``https://localhost:PORT`` (a host name, so clients send SNI as to grok.com)."""
        return self.url_for("localhost")

    @property
    def ip_url(self) -> str:
        """``https://127.0.0.1:PORT`` (no SNI: JA4 part a then reads ``i`` and one ext less)."""
        return self.url_for(self.host)

    def url_for(self, host: str) -> str:
        if self._server is None:
            raise RuntimeError("edge not started")
        return f"https://{host}:{self.port}"

    @property
    def ca_file(self) -> str | None:
        return self.certificates.ca_file if self.certificates else None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("edge not started")
        return self._backend

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        if self._server is not None:
            raise RuntimeError("edge already started")
        if self._ssl_context is None:
            if self.certificates is None:
                self.certificates = EdgeCertificates()
            self._ssl_context = self.certificates.server_context()
        self._backend = Backend(self.backend_url, self.backend_timeout)
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None
        if self._own_certs and self.certificates is not None:
            self.certificates.close()
            self.certificates = None
            self._ssl_context = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- policy ----------------------------------------------------------------------------

    def verdict(self, record: ConnectionRecord) -> Verdict:
        return verdict(record, self.profiles)

    def reset(self) -> None:
        """Forget recorded connections and counters (clearances stay valid)."""
        self.connections.clear()
        self.challenges.clear()
        self.clearances_issued.clear()
        self.blocks.clear()

    def mint_clearance(self, ip: str, user_agent: str) -> str:
        return self.clearances.mint(ip, user_agent)

    def revoke_clearances(self) -> None:
        """Every clearance issued so far stops working (the next request is challenged)."""
        self.clearances.revoke()

    def decide(self, record: ConnectionRecord, req: RequestRecord) -> LocalResponse | None:
        """The edge's own answer to ``req``, or None to forward it."""
        ip, host, now = record.ip, req.authority or "grok.com", self.clock()
        judged = self.verdict(record) if self.mode == "cloudflare" else None
        if judged is not None and not judged:
            self.blocks[ip] += 1
            req.outcome, req.note = "blocked", str(judged)
            return block_page(ip, host, now)
        if req.method == "GET" and req.path.split("?", 1)[0] == TRACE_PATH:
            req.outcome = "traced"  # Cloudflare answers it itself, challenge or not
            return trace_page(ip, host, req.user_agent, record.alpn, now)
        if self.mode == "probe":
            req.outcome = "forwarded"
            return None
        if req.method == "GET" and req.path.split("?", 1)[0] == SOLVE_PATH:
            self.clearances_issued[ip] += 1
            req.outcome = "solved"
            clearance = self.clearances.mint(ip, req.user_agent)
            cf_bm = f"{ray_id().split('-')[0]}-{int(now)}-1.0.1.1"
            return solved_page(clearance, cf_bm, host, self.clearances.ttl, now)
        if self.require_clearance:
            why = self.clearances.check(req.cookies.get("cf_clearance"), ip, req.user_agent)
            if why is not None:
                self.challenges[ip] += 1
                req.outcome, req.note = "challenged", why
                return challenge_page(host, now)
        req.outcome = "forwarded"
        return None

    def response_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Headers of a forwarded response; in cloudflare mode ``server``/``cf-ray`` as CF."""
        if self.mode != "cloudflare":
            return headers
        out = [(k, v) for k, v in headers if k.lower() not in ("server", "cf-ray")]
        return [*out, ("server", "cloudflare"), ("cf-ray", ray_id())]

    def bad_gateway(self, req: RequestRecord, exc: BaseException) -> LocalResponse:
        req.note = f"backend unreachable: {exc!r}"
        return bad_gateway_page(req.authority or "grok.com", self.clock())

    # -- connections -----------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A task of our own (not asyncio's callback task): stop() may cancel it quietly.
        task = asyncio.create_task(self._handle(reader, writer), name="edge-connection")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        record = ConnectionRecord(source=(str(peer[0]), int(peer[1])))
        self.connections.append(record)
        tls: TlsStream | None = None
        try:
            raw = await asyncio.wait_for(read_client_hello(reader), self.handshake_timeout)
            record.hello = ClientHello.parse(raw)
            assert self._ssl_context is not None
            tls = TlsStream(reader, writer, self._ssl_context, raw)
            await asyncio.wait_for(tls.handshake(), self.handshake_timeout)
            record.alpn = tls.alpn
            record.tls_version = tls.version
            if record.alpn == "h2":
                sniffer = H2Sniffer()
                record.h2 = sniffer.preface
                await H2Handler(self, tls, record, sniffer).run()
            else:
                await H1Handler(self, tls, record).run()
        except ValueError as exc:
            record.hello_error = str(exc)
        except (OSError, TimeoutError) as exc:  # ssl.SSLError and ConnectionError included
            record.error = record.error or f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # never let one connection's failure reach the loop
            record.error = record.error or f"{type(exc).__name__}: {exc}"
        finally:
            record.closed = True
            if tls is not None:
                await tls.close()
            else:
                writer.close()


class EdgeThread(BackgroundServer):
    """An :class:`Edge` on its own event loop in a daemon thread (``Edge``'s options).

    Usage::

        with EdgeThread(sim.url, mode="cloudflare") as edge:
            edge.url, edge.ca_file, edge.connections, edge.challenges
    """

    def __init__(
        self, backend: str | BackgroundServer, *, startup_timeout: float = 10.0, **options: Any
    ) -> None:
        self.edge = Edge(str(backend), **options)
        self.startup_timeout = startup_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.edge.url

    @property
    def ip_url(self) -> str:
        return self.edge.ip_url

    def url_for(self, host: str) -> str:
        return self.edge.url_for(host)

    @property
    def port(self) -> int:
        return self.edge.port

    @property
    def ca_file(self) -> str | None:
        return self.edge.ca_file

    @property
    def connections(self) -> list[ConnectionRecord]:
        return self.edge.connections

    @property
    def challenges(self) -> Counter[str]:
        return self.edge.challenges

    @property
    def clearances_issued(self) -> Counter[str]:
        return self.edge.clearances_issued

    @property
    def blocks(self) -> Counter[str]:
        return self.edge.blocks

    def verdict(self, record: ConnectionRecord) -> Verdict:
        return self.edge.verdict(record)

    def mint_clearance(self, ip: str, user_agent: str) -> str:
        return self.edge.mint_clearance(ip, user_agent)

    def revoke_clearances(self) -> None:
        self.edge.revoke_clearances()

    def reset(self) -> None:
        self.edge.reset()

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("edge already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="edge", daemon=True)
        self._thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(self.edge.start(), loop)
            return future.result(self.startup_timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float | None = None) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        limit = 5.0 if timeout is None else timeout
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.edge.stop(), loop).result(limit)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(limit)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None
