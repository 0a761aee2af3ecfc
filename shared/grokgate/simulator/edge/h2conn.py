"""The edge's HTTP/2 side: one ``h2`` server connection over a :class:`TlsStream`.

Every stream runs in its own task; request bodies flow to the backend as the client sends them
(a DATA frame is acknowledged once the backend took it, so the client's upload is paced by the
backend), response bodies flow back within the client's flow-control windows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import httpx

from .forward import request_headers, response_headers
from .h2wire import H2Sniffer
from .pages import LocalResponse
from .records import ConnectionRecord, RequestRecord
from .tlsio import TlsStream

if TYPE_CHECKING:
    from .edge import Edge

__all__ = ["H2Handler"]

_CONNECTION_WINDOW = 2**31 - 1


@dataclass
class _Stream:
    stream_id: int
    record: RequestRecord
    has_body: bool
    body: asyncio.Queue[tuple[bytes, int] | None] = field(default_factory=asyncio.Queue)
    consuming: bool = True
    task: asyncio.Task[None] | None = None


class H2Handler:
    """Serve one HTTP/2 connection until the client goes away (or the edge stops)."""

    def __init__(
        self, edge: Edge, tls: TlsStream, record: ConnectionRecord, sniffer: H2Sniffer
    ) -> None:
        self.edge = edge
        self.tls = tls
        self.record = record
        self.sniffer = sniffer
        config = h2.config.H2Configuration(
            client_side=False, header_encoding=None, normalize_inbound_headers=False
        )
        self.conn = h2.connection.H2Connection(config)
        self.streams: dict[int, _Stream] = {}
        self._window = asyncio.Event()
        self._closed = False

    # -- plumbing --------------------------------------------------------------------------

    def _push(self) -> None:
        """Queue whatever h2 wants to send (no waiting: safe from the read loop)."""
        data = self.conn.data_to_send()
        if data and not self._closed:
            self.tls.write_nowait(data)

    async def _flush(self) -> None:
        self._push()
        await self.tls.drain()

    def _wake_senders(self) -> None:
        self._window.set()
        self._window = asyncio.Event()

    async def run(self) -> None:
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(_CONNECTION_WINDOW - 65535)
        await self._flush()
        try:
            while True:
                data = await self.tls.read()
                if not data:
                    break
                self.sniffer.feed(data)
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    self.record.error = f"HTTP/2 protocol error: {exc}"
                    self._push()
                    break
                for event in events:
                    if self._event(event):
                        return
                self._push()
        finally:
            self._closed = True
            tasks = [s.task for s in self.streams.values() if s.task and not s.task.done()]
            for task in tasks:
                task.cancel()
            self._wake_senders()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    def _event(self, event: h2.events.Event) -> bool:
        """Handle one event; True when the connection is over."""
        if isinstance(event, h2.events.RequestReceived):
            self._request(event)
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream.consuming:
                stream.body.put_nowait((event.data or b"", event.flow_controlled_length or 0))
            else:
                self._ack(event.stream_id, event.flow_controlled_length or 0)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body.put_nowait(None)
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream.task is not None:
                stream.task.cancel()
            self._wake_senders()
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._wake_senders()
        elif isinstance(event, h2.events.ConnectionTerminated):
            return True
        return False

    def _ack(self, stream_id: int, length: int) -> None:
        if length and not self._closed:
            with contextlib.suppress(h2.exceptions.ProtocolError, KeyError):
                self.conn.acknowledge_received_data(length, stream_id)
            self._push()

    # -- requests --------------------------------------------------------------------------

    def _request(self, event: h2.events.RequestReceived) -> None:
        pseudo: list[tuple[str, str]] = []
        regular: list[tuple[str, str]] = []
        for raw_name, raw_value in event.headers or []:
            name = bytes(raw_name).decode("latin-1")
            value = bytes(raw_value).decode("latin-1")
            (pseudo if name.startswith(":") else regular).append((name, value))
        fields = dict(pseudo)
        stream_id = event.stream_id or 0
        req = RequestRecord(
            method=fields.get(":method", ""),
            path=fields.get(":path", ""),
            authority=fields.get(":authority"),
            headers=regular,
            pseudo_headers=pseudo,
            http_version="HTTP/2",
            stream_id=stream_id,
        )
        self.record.requests.append(req)
        stream = _Stream(stream_id, req, has_body=event.stream_ended is None)
        self.streams[stream_id] = stream
        stream.task = asyncio.create_task(self._serve(stream), name=f"edge-h2-{stream_id}")

    async def _body(self, stream: _Stream) -> AsyncIterator[bytes]:
        while True:
            item = await stream.body.get()
            if item is None:
                return
            data, length = item
            self._ack(stream.stream_id, length)
            if data:
                yield data

    def _discard_body(self, stream: _Stream) -> None:
        """No one reads this body: acknowledge what was queued and what will arrive."""
        stream.consuming = False
        while not stream.body.empty():
            item = stream.body.get_nowait()
            if item is not None:
                self._ack(stream.stream_id, item[1])

    async def _serve(self, stream: _Stream) -> None:
        req = stream.record
        try:
            local = self.edge.decide(self.record, req)
            if local is not None:
                self._discard_body(stream)
                await self._send_local(stream, local)
                return
            await self._forward(stream)
        except asyncio.CancelledError:
            raise
        except (h2.exceptions.ProtocolError, ConnectionError, OSError) as exc:
            req.outcome = "error"
            self.record.error = self.record.error or f"stream {stream.stream_id}: {exc!r}"
        finally:
            self.streams.pop(stream.stream_id, None)

    async def _forward(self, stream: _Stream) -> None:
        req = stream.record
        headers = request_headers(req.headers, self.record.ip, req.authority)
        body = self._body(stream) if stream.has_body else None
        try:
            response = await self.edge.backend.send(req.method, req.path, headers, body)
        except httpx.HTTPError as exc:
            self._discard_body(stream)
            req.outcome = "error"
            await self._send_local(stream, self.edge.bad_gateway(req, exc))
            return
        try:
            req.status = response.status_code
            out = [(b":status", str(response.status_code).encode())]
            out += [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in self.edge.response_headers(response_headers(response.headers.raw))
            ]
            self.conn.send_headers(stream.stream_id, out)
            await self._flush()
            try:
                async for chunk in response.aiter_raw():
                    await self._send_data(stream.stream_id, chunk)
            except httpx.HTTPError:
                req.outcome = "error"
                self._reset(stream.stream_id)
                return
            self.conn.end_stream(stream.stream_id)
            await self._flush()
        finally:
            self._discard_body(stream)
            await response.aclose()

    def _reset(self, stream_id: int) -> None:
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.conn.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
        self._push()

    async def _send_local(self, stream: _Stream, local: LocalResponse) -> None:
        stream.record.status = local.status
        headers = [(b":status", str(local.status).encode())]
        headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in local.headers]
        headers.append((b"content-length", str(len(local.body)).encode()))
        self.conn.send_headers(stream.stream_id, headers, end_stream=not local.body)
        await self._flush()
        if local.body:
            await self._send_data(stream.stream_id, local.body)
            self.conn.end_stream(stream.stream_id)
            await self._flush()

    async def _send_data(self, stream_id: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._closed:
                raise ConnectionError("connection closed")
            window = self.conn.local_flow_control_window(stream_id)
            if window <= 0:
                await self._window.wait()
                continue
            size = min(window, self.conn.max_outbound_frame_size, len(view))
            self.conn.send_data(stream_id, bytes(view[:size]))
            view = view[size:]
            await self._flush()
