"""The edge's HTTP/1.1 side (``h11`` over a :class:`TlsStream`): keep-alive requests forwarded
one at a time, and ``Upgrade: websocket`` requests forwarded then spliced byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import h11
import httpx

from .forward import request_headers, response_headers, websocket_head
from .pages import LocalResponse
from .records import ConnectionRecord, RequestRecord
from .tlsio import TlsStream

if TYPE_CHECKING:
    from .edge import Edge

__all__ = ["H1Handler", "is_websocket_upgrade"]

_SPLICE = 65536


def is_websocket_upgrade(method: str, headers: list[tuple[str, str]]) -> bool:
    upgrade = ",".join(v for k, v in headers if k.lower() == "upgrade").lower()
    connection = ",".join(v for k, v in headers if k.lower() == "connection").lower()
    tokens = {t.strip() for t in connection.split(",")}
    return method == "GET" and "websocket" in upgrade and "upgrade" in tokens


class H1Handler:
    """Serve one HTTP/1.1 connection until it closes or switches to a WebSocket."""

    def __init__(self, edge: Edge, tls: TlsStream, record: ConnectionRecord) -> None:
        self.edge = edge
        self.tls = tls
        self.record = record
        self.conn = h11.Connection(h11.SERVER)

    async def _next(self) -> object:
        """The next h11 event (or ``h11.PAUSED``), reading from the client as needed."""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.tls.read())
                continue
            return event

    async def _send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            await self.tls.write(data)

    async def run(self) -> None:
        while True:
            try:
                event = await self._next()
            except h11.RemoteProtocolError as exc:
                self.record.error = f"HTTP/1.1 protocol error: {exc}"
                with contextlib.suppress(h11.LocalProtocolError):
                    await self._send_local(LocalResponse(400, [], b"Bad Request\n"))
                return
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed, or a client that went away mid-cycle
            headers = [
                (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in event.headers.raw_items()
            ]
            method = event.method.decode("latin-1")
            req = RequestRecord(
                method=method,
                path=event.target.decode("latin-1"),
                authority=next((v for k, v in headers if k.lower() == "host"), None),
                headers=headers,
                http_version="HTTP/1." + event.http_version.decode()[-1:],
                websocket=is_websocket_upgrade(method, headers),
            )
            self.record.requests.append(req)
            local = self.edge.decide(self.record, req)
            if local is not None:
                await self._drain_body()
                await self._send_local(local)
            elif req.websocket:
                await self._websocket(req)
                return
            else:
                await self._forward(req)
            if self.conn.our_state is not h11.DONE or self.conn.their_state is not h11.DONE:
                return
            self.conn.start_next_cycle()

    async def _drain_body(self) -> None:
        while self.conn.their_state is h11.SEND_BODY:
            event = await self._next()
            if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)) or event is h11.PAUSED:
                break

    async def _body(self) -> AsyncIterator[bytes]:
        if self.conn.they_are_waiting_for_100_continue:
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        while True:
            event = await self._next()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise ConnectionError("client went away during the request body")

    async def _send_local(self, local: LocalResponse) -> None:
        headers = [*local.headers, ("content-length", str(len(local.body)))]
        await self._send(h11.Response(status_code=local.status, headers=headers))
        if local.body:
            await self._send(h11.Data(data=local.body))
        await self._send(h11.EndOfMessage())

    async def _forward(self, req: RequestRecord) -> None:
        headers = request_headers(req.headers, self.record.ip)
        has_body = self.conn.their_state is h11.SEND_BODY
        try:
            response = await self.edge.backend.send(
                req.method, req.path, headers, self._body() if has_body else None
            )
        except httpx.HTTPError as exc:
            req.outcome = "error"
            await self._drain_body()
            await self._send_local(self.edge.bad_gateway(req, exc))
            return
        try:
            req.status = response.status_code
            out = self.edge.response_headers(response_headers(response.headers.raw))
            await self._send(h11.Response(status_code=response.status_code, headers=out))
            try:
                async for chunk in response.aiter_raw():
                    if chunk:
                        await self._send(h11.Data(data=chunk))
            except httpx.HTTPError:
                req.outcome = "error"
                return  # the response is cut: the connection closes (our_state not DONE)
            await self._send(h11.EndOfMessage())
        finally:
            await response.aclose()

    async def _websocket(self, req: RequestRecord) -> None:
        """Send the upgrade head to the backend, then splice both ways until one side ends."""
        while self.conn.their_state is h11.SEND_BODY:
            event = await self._next()
            if not isinstance(event, h11.Data):
                break
        early, _ = self.conn.trailing_data
        backend = self.edge.backend
        try:
            reader, writer = await backend.open_raw()
        except OSError as exc:
            req.outcome = "error"
            await self._send_local(self.edge.bad_gateway(req, exc))
            return
        target = backend.url(req.path).raw_path.decode("latin-1")
        writer.write(websocket_head(req.method, target, req.headers, self.record.ip) + early)
        up = asyncio.create_task(self._up(writer))
        down = asyncio.create_task(self._down(reader, req))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            if not down.done():  # the client is done: give the backend a moment to close
                await asyncio.wait({down}, timeout=2.0)
        finally:
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _up(self, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await self.tls.read(_SPLICE):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                if writer.can_write_eof():
                    writer.write_eof()

    async def _down(self, reader: asyncio.StreamReader, req: RequestRecord) -> None:
        head: bytes | None = b""  # None once the response head went out
        try:
            while data := await reader.read(_SPLICE):
                if head is not None:
                    # The response head goes in a TLS record of its own: curl (curl_cffi 0.17)
                    # now and then loses a WebSocket frame sent in the record of its 101.
                    head += data
                    end = head.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    with contextlib.suppress(ValueError, IndexError):
                        req.status = int(head.split(b" ", 2)[1])
                    await self.tls.write(head[: end + 4])
                    data, head = head[end + 4 :], None
                if data:
                    await self.tls.write(data)
            if head:
                await self.tls.write(head)
        except OSError:
            pass
