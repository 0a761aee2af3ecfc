"""grok.com web chat over the WebSocket gateway ("mgw"; docs/grok-protocol.md §5).

:class:`GrokGatewayClient` is the second chat transport next to the REST
:class:`~grokgate.upstream.grokweb.client.GrokWebClient`, with the same ``chat()`` and the same
events. One socket per answer: ``wss://<host>/ws/mgw/?uid=<user id>`` (the user id from
``GET /api/auth/session``, through a :class:`UserIds`), then ``session.create`` → wait for
``session.created`` and ``conversation.attached`` → the user item and ``response.create`` →
the answer's frames (:class:`~grokgate.upstream.grokweb.gateway_adapter.GatewayAdapter`) until
``response.done``, with a ``ping`` every ``heartbeat_seconds`` meanwhile.

A failure to open the socket is an :class:`~grokgate.errors.UpstreamHandshakeError` (a refusal
keeps the verdict of its HTTP answer; nobody listening, a timeout or a broken handshake are
UNAVAILABLE), so a caller can tell "the gateway would not talk" from a failed answer.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from grokgate.errors import (
    TransportError,
    TransportTimeoutError,
    UpstreamError,
    UpstreamHandshakeError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    Verdict,
)
from grokgate.events import Event, Served, TextDelta
from grokgate.logs import get_logger
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress, HandshakeRefused, Socket, SocketClosed
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.base import GrokWebBase
from grokgate.upstream.grokweb.classify import refusal_error
from grokgate.upstream.grokweb.gateway_adapter import (
    GatewayAdapter,
    gateway_error,
    session_ended_error,
)
from grokgate.upstream.grokweb.request import socket_headers
from grokgate.upstream.grokweb.session import valid_user_id
from grokgate.upstream.grokweb.web import GrokWeb

log = get_logger("grokweb.gateway")
MGW_PATH = "/ws/mgw/"


class UserIds(Protocol):
    """Where the gateway client gets an account's grok.com user id (the socket's ``uid``)."""

    async def get(self, account: Account) -> str: ...


# --- what the client sends --------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def mgw_url(base_url: str, uid: str) -> str:
    """``wss://<host>/ws/mgw/?uid=<uid>`` for ``https://<host>`` (``ws://`` for ``http://``)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}{MGW_PATH}?uid={quote(uid, safe='')}"


def gateway_headers(*, cookie: str, uid: str, egress: Egress) -> dict[str, str]:
    """The handshake's headers: the imagine socket's, with ``x-userid`` in the cookie."""
    return socket_headers(cookie=f"{cookie}; x-userid={uid}", fingerprint=egress.fingerprint)


def new_chat_x_grok() -> dict[str, Any]:
    """``session.x_grok`` for a new, temporary chat, exactly as the web client sends it."""
    return {
        "protocol_capabilities": ["conversation_attached", "custom_methods_v1"],
        "use_chunk": True,
        "enable_side_by_side": True,
        "force_side_by_side": False,
        "enable_image_generation": True,
        "image_generation_count": 2,
        "disable_text_follow_ups": False,
        "disable_artifact": True,
        "force_concise": False,
        "keep_context": False,
        "is_temporary": True,
        "disable_memory": True,
    }


def session_create(mode: str, event_id: str) -> dict[str, Any]:
    return {
        "event": {
            "type": "session.create",
            "event_id": event_id,
            "session": {"model": mode, "x_grok": new_chat_x_grok()},
        }
    }


def item_create(
    session_id: str, prompt: str, file_ids: Sequence[str], *, message_id: str | None = None
) -> dict[str, Any]:
    """The user's message: one file mention per upload (in order), then the text chunk."""
    chunks: list[dict[str, Any]] = [
        {"mention": {"target": {"file_mention": {"file_id": file_id}}}} for file_id in file_ids
    ]
    chunks.append({"text": {"text": prompt}})
    return {
        "session_id": session_id,
        "event": {
            "type": "conversation.item.create",
            "event_id": f"evt_msg_{_now_ms()}",
            "item": {
                "type": "message",
                "role": "user",
                "x_grok": {
                    "client_message_id": message_id or str(uuid.uuid4()),
                    "input_chunks": chunks,
                },
                "file_attachment_ids": list(file_ids),
            },
            "file_attachment_ids": list(file_ids),
        },
    }


def response_create(session_id: str) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "event": {"type": "response.create", "event_id": f"evt_resp_{_now_ms()}"},
    }


def ping() -> dict[str, Any]:
    return {"event": {"type": "ping", "event_id": f"evt_hb_{_now_ms()}"}}


# --- the client -------------------------------------------------------------------------------


class GrokGatewayClient(GrokWebBase):
    """Streams one answer per call over its own socket; holds only read-only state."""

    transport = "ws"

    def __init__(self, web: GrokWeb, *, user_ids: UserIds, heartbeat_seconds: float = 25.0) -> None:
        super().__init__(web)
        self.user_ids = user_ids
        self.heartbeat_seconds = heartbeat_seconds

    @property
    def connect_timeout(self) -> float:
        return self.web.connect_timeout

    async def chat(
        self,
        account: Account,
        message: str,
        mode: str,
        *,
        show_reasoning: bool = True,
        attachments: Sequence[Attachment] = (),
    ) -> AsyncIterator[Event]:
        """Upload ``attachments`` (upload v2), open the gateway socket and set up the session,
        then yield :class:`Served` once the message and ``response.create`` were sent, then the
        answer's events.

        Raises :class:`UpstreamHandshakeError` when the socket cannot be opened and another
        :class:`UpstreamError` (with a verdict on the account) for every other failure.
        """
        egress, file_ids = await self._prepare(account, attachments)
        uid = await self.user_ids.get(account)
        if not valid_user_id(uid):
            raise UpstreamError(f"account {account.id} has a malformed grok.com user id")
        deadline_at = asyncio.get_running_loop().time() + self.deadline
        ws = await self._open(account, egress, uid)
        heartbeat: asyncio.Task[None] | None = None
        try:
            session_id = await self._set_up(ws, mode, deadline_at)
            await _send(ws, item_create(session_id, message, file_ids))
            await _send(ws, response_create(session_id))
            heartbeat = asyncio.create_task(self._heartbeat(ws))
            yield Served(account=account.id, transport=self.transport)
            adapter = GatewayAdapter(show_reasoning=show_reasoning)
            text_seen = False
            while not adapter.finished:
                frame = await self._recv(ws, deadline_at)
                for event in adapter.feed(frame):
                    text_seen = text_seen or isinstance(event, TextDelta)
                    yield event
            if not text_seen:
                raise UpstreamStreamError("grok.com finished without any answer text")
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
                await asyncio.wait([heartbeat])  # never swallows a cancellation of this task
                if not heartbeat.cancelled() and heartbeat.exception() is not None:
                    log.debug("gateway heartbeat failed: %r", heartbeat.exception())
            await ws.close()  # 1000, also when the consumer stopped early

    # --- steps ----------------------------------------------------------------------------

    async def _open(self, account: Account, egress: Egress, uid: str) -> Socket:
        """The open socket; :class:`UpstreamHandshakeError` for every way it can fail."""

        def headers(through: Egress) -> dict[str, str]:
            cookie = self.web.cookie(account, through)
            return gateway_headers(cookie=cookie, uid=uid, egress=through)

        try:
            return await self.web.socket(egress, mgw_url(self.base_url, uid), headers=headers)
        except HandshakeRefused as exc:
            log.debug("gateway handshake refused with HTTP %d", exc.status_code)
            raise UpstreamHandshakeError.from_error(refusal_error(exc)) from exc
        except TransportTimeoutError as exc:
            raise UpstreamHandshakeError(
                f"grok.com's gateway did not open within {self.connect_timeout:g} s",
                verdict=Verdict.UNAVAILABLE,
            ) from exc
        except TransportError as exc:
            if exc.verdict is Verdict.EGRESS:
                raise UpstreamHandshakeError.from_error(exc) from exc
            raise UpstreamHandshakeError(
                f"could not open grok.com's gateway socket ({exc.message})",
                verdict=Verdict.UNAVAILABLE,
            ) from exc

    async def _set_up(self, ws: Socket, mode: str, deadline_at: float) -> str:
        """Send ``session.create`` and wait (at most ``connect_timeout``) for both
        ``session.created`` and ``conversation.attached``; returns the session id."""
        init_id = f"evt_init_{uuid.uuid4()}"
        await _send(ws, session_create(mode, init_id))
        loop = asyncio.get_running_loop()
        until = min(deadline_at, loop.time() + self.connect_timeout)
        session_id: str | None = None
        attached: set[str] = set()
        while session_id is None or session_id not in attached:
            frame = await self._recv(ws, until, setting_up=True)
            event = frame.get("event")
            if not isinstance(event, dict):
                continue
            kind = event.get("type")
            if kind == "session.created" and event.get("client_event_id") == init_id:
                session = event.get("session")
                found = frame.get("session_id") or (
                    session.get("id") if isinstance(session, dict) else None
                )
                if not isinstance(found, str) or not found:
                    raise UpstreamStreamError("grok.com's gateway created a session without id")
                session_id = found
            elif kind == "conversation.attached":
                conversation = event.get("conversation")
                if isinstance(conversation, dict) and isinstance(conversation.get("id"), str):
                    attached.add(conversation["id"])
            elif kind == "error":
                raise gateway_error(event.get("error"))
            elif kind == "session.ended":
                raise session_ended_error(event)
        return session_id

    async def _recv(self, ws: Socket, until: float, *, setting_up: bool = False) -> dict[str, Any]:
        """The next JSON object frame, received before the loop time ``until``."""
        while True:
            try:
                async with asyncio.timeout_at(until):
                    message = await ws.recv()
            except TimeoutError as exc:
                if setting_up:
                    raise UpstreamTimeoutError(
                        "grok.com's gateway did not set up the chat session in time"
                    ) from exc
                raise UpstreamTimeoutError(
                    f"grok.com's answer took longer than {self.deadline:g} s"
                ) from exc
            except SocketClosed as exc:
                stage = "the chat session was set up" if setting_up else "the answer was complete"
                raise UpstreamStreamError(
                    f"grok.com's gateway closed the socket before {stage} "
                    f"(stream broke, close code {exc.close_code})"
                ) from exc
            try:
                frame = json.loads(message)
            except ValueError:
                log.debug("gateway sent a frame that is not JSON; ignored")
                continue
            if isinstance(frame, dict):
                return frame

    async def _heartbeat(self, ws: Socket) -> None:
        """A ``ping`` event every ``heartbeat_seconds`` until cancelled or the socket closed."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await ws.send(json.dumps(ping()))
            except SocketClosed:
                return


async def _send(ws: Socket, event: dict[str, Any]) -> None:
    try:
        await ws.send(json.dumps(event, ensure_ascii=False))
    except SocketClosed as exc:
        raise UpstreamStreamError(
            f"grok.com's gateway closed the socket (close code {exc.close_code})"
        ) from exc
