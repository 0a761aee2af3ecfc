"""The loopback proxies' shared part: listening, records, credentials, source binding."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self
from urllib.parse import quote, urlsplit

Kind = Literal["connect", "absolute", "socks"]
HOP_HEADERS = frozenset({b"proxy-authorization", b"proxy-connection", b"connection", b"keep-alive"})
REASONS = {400: "Bad Request", 403: "Forbidden", 407: "Proxy Authentication Required"}
REASONS |= {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class ProxyRecord:
    """One client connection: what it asked for and what became of it (updated live)."""

    kind: Kind
    client: tuple[str, int]
    target: tuple[str, int] | None = None  # as the client named it
    address: str | None = None  # the IP the proxy connected to
    address_type: str | None = None  # SOCKS: "ipv4", "domain" or "ipv6"
    authenticated: bool | None = None  # None: no credentials configured
    outcome: str = "open"  # ok, auth_failed, forbidden, failed, unreachable, bad_request
    status: int | None = None  # HTTP status answered (upstream's for absolute) / SOCKS reply
    source: tuple[str, int] | None = None  # local end of the outgoing connection
    bytes_up: int = 0  # client -> target
    bytes_down: int = 0  # target -> client
    started: float = field(default_factory=time.time)
    ended: float | None = None


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Refused(Exception):
    def __init__(self, outcome: str, status: int) -> None:
        super().__init__(outcome)
        self.outcome, self.status = outcome, status


class LoopbackProxy:
    """What both proxies share: listening, records, loopback-only upstream connections."""

    scheme: ClassVar[str]
    kind: ClassVar[Kind]

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        source_address: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        hosts: Mapping[str, str] | None = None,
        fail_with: int | None = None,
        stall: bool = False,
        connect_timeout: float = 5.0,
    ) -> None:
        self.username, self.password = username, password
        self.source_address = source_address
        self.host, self.port = host, port
        self.hosts = dict(hosts or {})
        self.fail_with, self.stall = fail_with, stall
        self.connect_timeout = connect_timeout
        self.records: list[ProxyRecord] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        """The URL with this proxy's credentials (still known once stopped: dead-proxy tests)."""
        if self.port == 0:
            raise RuntimeError("proxy not started")
        return self.url_with(self.username, self.password)

    def url_with(
        self, username: str | None = None, password: str | None = None, scheme: str | None = None
    ) -> str:
        """This proxy's URL with other credentials (or none) or another scheme (``socks5``)."""
        auth = f"{quote(username, safe='')}:{quote(password or '', safe='')}@" if username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme or self.scheme}://{auth}{host}:{self.port}"

    def bind(self) -> socket.socket:
        """A listening socket (port 0 picks a free port, kept for a restart)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    async def listen(self, sock: socket.socket | None = None) -> str:
        """Serve on ``sock`` (bound here if None) on the running loop; returns the URL."""
        if self._server is not None:
            raise RuntimeError("proxy already started")
        self._server = await asyncio.start_server(self._handle, sock=sock or self.bind())
        return self.url

    start = listen

    async def stop(self) -> None:
        """Close the listening socket and abort every open connection (client and upstream)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    async def __aenter__(self) -> Self:
        await self.listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def count(self, *, kind: str | None = None, outcome: str | None = None) -> int:
        """Records of that kind and/or outcome."""
        matches = [r for r in list(self.records) if kind in (None, r.kind)]
        return sum(1 for r in matches if outcome in (None, r.outcome))

    @property
    def open_connections(self) -> int:
        return sum(1 for r in list(self.records) if r.ended is None)

    @property
    def bytes_up(self) -> int:
        return sum(r.bytes_up for r in list(self.records))

    @property
    def bytes_down(self) -> int:
        return sum(r.bytes_down for r in list(self.records))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")
        record = ProxyRecord(self.kind, (peer[0], peer[1]))
        self.records.append(record)
        try:
            if self.stall:
                record.outcome = "stalled"
                await asyncio.Event().wait()
            await self._session(reader, writer, record)
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError):
            if record.outcome == "open":
                record.outcome = "bad_request"
        except asyncio.CancelledError:
            pass  # stop(): the writer is aborted below
        finally:
            record.ended = time.time()
            self._close(writer)
            self._tasks.discard(task)

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: ProxyRecord
    ) -> None:
        raise NotImplementedError

    def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close (flushing what is buffered), or abort when the proxy is being stopped."""
        (writer.transport.abort if self._server is None else writer.close)()
        self._writers.discard(writer)

    def _check(self, username: str | None, password: str | None, record: ProxyRecord) -> bool:
        if self.username is None:
            return True
        record.authenticated = username == self.username and password == self.password
        if not record.authenticated:
            record.outcome = "auth_failed"
        return record.authenticated

    def _resolve(self, host: str, port: int) -> list[tuple[str, int]]:
        """Loopback addresses for a target, without DNS; raises Refused otherwise."""
        mapped = self.hosts.get(f"{host}:{port}") or self.hosts.get(host)
        if mapped is not None:
            split = urlsplit(f"//{mapped}")
            host, port = split.hostname or "", split.port or port
        names = ["127.0.0.1", "::1"] if host.lower().rstrip(".") == "localhost" else [host]
        try:
            ips = [ipaddress.ip_address(name) for name in names]
        except ValueError:
            raise Refused("forbidden", 403) from None
        if not all(ip.is_loopback for ip in ips):
            raise Refused("forbidden", 403)
        return [(str(ip), port) for ip in ips]

    async def _connect(self, host: str, port: int, record: ProxyRecord) -> Stream:
        """Open the upstream connection, bound to ``source_address``."""
        record.target = (host, port)
        candidates = self._resolve(host, port)
        if self.fail_with is not None:
            raise Refused("failed", self.fail_with)
        source = self.source_address
        for ip, ip_port in candidates:
            if source is not None and (":" in source) != (":" in ip):
                continue  # an IPv4 source cannot reach ::1
            local = (source, 0) if source else None
            try:
                opening = asyncio.open_connection(ip, ip_port, local_addr=local)
                upstream = await asyncio.wait_for(opening, self.connect_timeout)
            except (OSError, TimeoutError):
                continue
            self._writers.add(upstream[1])
            record.address = ip
            record.source = tuple(upstream[1].get_extra_info("sockname")[:2])  # type: ignore[assignment]
            return upstream
        raise Refused("unreachable", 502)

    async def _splice(
        self,
        client: Stream,
        upstream: Stream,
        record: ProxyRecord,
        head: Callable[[bytes], bytes] | None = None,
    ) -> None:
        """Relay both ways until either side closes; then close both. ``head`` rewrites the
        first response head (absolute-form) while the request body already flows up."""

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            if not up and head is not None:
                first = head(await src.readuntil(b"\r\n\r\n"))
                dst.write(first)
                record.bytes_down += len(first)
            while data := await src.read(65536):
                dst.write(data)
                record.bytes_up += len(data) if up else 0
                record.bytes_down += 0 if up else len(data)
                await dst.drain()

        tasks = [
            asyncio.create_task(pipe(client[0], upstream[1], True)),
            asyncio.create_task(pipe(upstream[0], client[1], False)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._close(upstream[1])


async def http_answer(
    writer: asyncio.StreamWriter, record: ProxyRecord, status: int, *extra: str
) -> None:
    record.status = status
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", *extra]
    writer.write("\r\n".join([*lines, "Content-Length: 0", "Connection: close", "", ""]).encode())
    await writer.drain()
