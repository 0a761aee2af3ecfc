"""The WebSocket chat gateway ``/ws/mgw/`` and ``GET /api/auth/session`` (docs/grok-protocol.md
§5, §5.7).

Handshake (``GET /ws/mgw/?uid=<userId>``, no statsig): refusals are real HTTP answers (ASGI
``websocket.http.response``, as in :mod:`.imagine`), checked in this order: the global
``SimState.gateway_refuse`` knob (404 plain text, 403 the Cloudflare challenge), bad sso cookies
(401), a blocked account (403), a bad ``Origin`` (403), a missing or wrong ``uid`` or
``x-userid`` cookie (403), then a queued handshake fault (:data:`HANDSHAKE_FAULTS`, answered
like the REST fault).

A turn: ``session.create`` → ``session.created`` + ``conversation.attached``; then
``conversation.item.create`` (recorded as one ``RecordedRequest`` with method ``"WS"``) and
``response.create`` → the same answer as REST (:func:`.answers.build_answer`) as
``response.chunk`` events (:func:`.gateway_frames.answer_events`, shaped by
``SimState.gateway_variants``), then ``response.done``.
Client frames are read while an answer is streamed, so pings are recorded live; the server
never answers a ping. Protocol violations end the socket with an ``error`` event
(``invalid_argument``) and a normal close. Turn faults
(:data:`TURN_FAULTS`) are taken at ``response.create``; ``cut`` raises :class:`.wire.SimulatedCut`
so uvicorn drops the TCP connection without a close frame (the client sees 1006).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from .answers import build_answer
from .gateway_frames import (
    GATEWAY_VARIANTS,
    Message,
    ProtocolViolation,
    answer_events,
    event_type,
    parse_message,
)
from .state import (
    MGW_PATH,
    MODES,
    SESSION_PATH,
    InjectedFault,
    RecordedRequest,
    SimState,
    SimUpload,
)
from .wire import (
    ANTI_BOT,
    BLOCKED,
    INVALID_CREDENTIALS,
    TOO_MANY,
    SimulatedCut,
    err,
    http_fault,
    iso,
    refuse,
    sso_of,
)

__all__ = [
    "BAD_ORIGIN",
    "HANDSHAKE_FAULTS",
    "ORIGIN",
    "TURN_FAULTS",
    "UID_MISMATCH",
    "GatewaySocket",
]

ORIGIN = "https://grok.com"
UID_MISMATCH = err(7, "Forbidden: uid does not match the session")
BAD_ORIGIN = err(7, "Forbidden: bad origin")
HANDSHAKE_FAULTS = frozenset({"401", "403_cf", "403_blocked", "429", "500", "502", "503"})
TURN_FAULTS = frozenset(
    {"403_antibot", "inband_error", "inband_response_error", "cut", "truncate", "slow"}
)
SESSION_TTL_S = 30 * 86400
_DISCONNECTS = (WebSocketDisconnect, WebSocketDisconnected)


@dataclass
class _Conn:
    ws: WebSocket
    token: str
    uid: str
    events: list[Any] = field(default_factory=list)  # the current turn's client frames
    session_id: str | None = None
    mode: str = ""
    x_grok: dict[str, Any] = field(default_factory=dict)  # session.create's options
    turns: int = 0
    pending: tuple[str, list[SimUpload]] | None = None  # an item waiting for response.create
    answer: asyncio.Task[None] | None = None
    closed: bool = False

    def busy(self) -> bool:
        return self.pending is not None or (self.answer is not None and not self.answer.done())


class GatewaySocket:
    """The gateway's endpoints: ``endpoint`` (a ``WebSocketRoute``), ``session`` and
    ``control`` (``POST /__sim/gateway {"refuse": 404|403|null}``, or ``{"variants": [..]}``
    to set ``SimState.gateway_variants`` alone)."""

    def __init__(self, state: SimState, clock: Callable[[], float], token_delay: float) -> None:
        self.state = state
        self.clock = clock
        self.token_delay = token_delay

    # HTTP ----------------------------------------------------------------------------------
    async def session(self, request: Request) -> Response:
        """``GET /api/auth/session``: who the sso cookies belong to (always HTTP 200)."""
        self._record(request, SESSION_PATH, "GET", None)
        token = sso_of(self.state, request.cookies)
        if token is None:
            return JSONResponse({"status": "unauthenticated"})
        account = self.state.accounts[token]
        if account.blocked:
            return JSONResponse({"status": "blocked", "user": {"id": account.user_id}})
        prefix = "".join(c for c in token[:8] if c.isalnum() or c in "-_.") or "user"
        expires = iso(self.clock() + SESSION_TTL_S)
        user = {"id": account.user_id, "email": f"{prefix}@sim.grok", "tier": account.tier}
        session = {"userId": account.user_id, "expires": expires}
        return JSONResponse({"status": "authenticated", "session": session, "user": user})

    async def control(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        if isinstance(body, dict) and "variants" in body:
            variants = body["variants"]
            if not isinstance(variants, list) or not set(variants) <= GATEWAY_VARIANTS:
                known = ", ".join(sorted(GATEWAY_VARIANTS))
                return JSONResponse(err(3, f"variants: a list of {known}"), status_code=400)
            self.state.gateway_variants = frozenset(variants)
            if "refuse" not in body:
                return Response(status_code=204)
        refuse = body.get("refuse") if isinstance(body, dict) else "missing"
        if refuse is not None and (type(refuse) is not int or refuse not in (404, 403)):
            return JSONResponse(err(3, "refuse: must be 404, 403 or null"), status_code=400)
        self.state.gateway_refuse = refuse
        return Response(status_code=204)

    def _record(self, conn: Request | WebSocket, path: str, method: str, body: Any) -> None:
        self.state.record(
            RecordedRequest(
                method=method,
                path=path,
                headers={k.lower(): v for k, v in conn.headers.items()},
                body=body,
                token=conn.cookies.get("sso"),
                statsig_ok=True,
                time=self.clock(),
                cookies=dict(conn.cookies),
            )
        )

    # handshake -----------------------------------------------------------------------------
    def _refusal(self, websocket: WebSocket) -> Response | tuple[str, str]:
        """The HTTP response refusing the handshake, or (account token, uid)."""
        refuse = self.state.gateway_refuse
        if refuse == 404:
            return PlainTextResponse("Not Found", status_code=404)
        if refuse == 403:
            return http_fault(InjectedFault("403_cf"))
        if refuse is not None:
            return JSONResponse(err(14, "Service temporarily unavailable."), status_code=refuse)
        token = sso_of(self.state, websocket.cookies)
        if token is None:
            return JSONResponse(INVALID_CREDENTIALS, status_code=401)
        account = self.state.accounts[token]
        if account.blocked:
            return JSONResponse(BLOCKED, status_code=403)
        if websocket.headers.get("origin") != ORIGIN:
            return JSONResponse(BAD_ORIGIN, status_code=403)
        uid = websocket.query_params.get("uid")
        if not uid or uid != account.user_id or websocket.cookies.get("x-userid") != uid:
            return JSONResponse(UID_MISMATCH, status_code=403)
        fault = self.state.take_fault(token, only=HANDSHAKE_FAULTS)
        if fault is not None:
            return http_fault(fault)
        return token, uid

    async def endpoint(self, websocket: WebSocket) -> None:
        refusal = self._refusal(websocket)
        if isinstance(refusal, Response):
            await refuse(websocket, refusal)
            return
        await websocket.accept()
        conn = _Conn(websocket, *refusal)
        try:
            async with asyncio.TaskGroup() as tasks:
                await self._read(conn, tasks)
        except BaseExceptionGroup as group:
            expected, rest = group.split((SimulatedCut, *_DISCONNECTS))
            if rest is not None:
                raise
            if expected is not None and expected.subgroup(SimulatedCut) is not None:
                raise SimulatedCut("simulated gateway cut") from None
        except _DISCONNECTS:
            return

    # client frames -------------------------------------------------------------------------
    async def _read(self, conn: _Conn, tasks: asyncio.TaskGroup) -> None:
        while True:
            message = await conn.ws.receive()
            if message["type"] == "websocket.disconnect":
                self._stop_answer(conn)
                return
            text = message.get("text")
            frame: Any = text
            if text is None:
                frame = (message.get("bytes") or b"").decode("utf-8", "replace")
            else:
                with contextlib.suppress(ValueError):
                    frame = json.loads(text)
            if event_type(frame) == "conversation.item.create" and conn.turns:
                conn.events = []  # a later turn on this socket gets its own event log
            conn.events.append(frame)
            try:
                if text is None:
                    raise ProtocolViolation("frames must be JSON text frames")
                await self._handle(conn, frame, tasks)
            except ProtocolViolation as exc:
                self._stop_answer(conn)
                await self._fail(conn, "invalid_argument", str(exc))
                return

    async def _handle(self, conn: _Conn, frame: Any, tasks: asyncio.TaskGroup) -> None:
        kind = event_type(frame)
        if kind is None:
            raise ProtocolViolation('a frame must be a JSON object {"event":{"type":...}}')
        if kind == "ping":
            return
        event: dict[str, Any] = frame["event"]
        if conn.session_id is None:
            if kind != "session.create":
                raise ProtocolViolation(f"the first event must be session.create, not {kind}")
            await self._create(conn, event)
        elif kind == "session.create":
            raise ProtocolViolation("session.create: the session already exists")
        elif kind == "conversation.item.create":
            self._item(conn, frame, event)
        elif kind == "response.create":
            if frame.get("session_id") != conn.session_id:
                raise ProtocolViolation("response.create: session_id does not match the session")
            if conn.pending is None:
                raise ProtocolViolation("response.create before conversation.item.create")
            turn, conn.pending = conn.pending, None
            conn.answer = tasks.create_task(self._answer(conn, *turn))
        # other event types are ignored, as a client ignores unknown server events

    async def _create(self, conn: _Conn, event: dict[str, Any]) -> None:
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or not event_id.startswith("evt_init_"):
            raise ProtocolViolation("session.create: event_id must start with evt_init_")
        session = event.get("session")
        model = session.get("model") if isinstance(session, dict) else None
        if not isinstance(model, str) or model not in MODES:
            raise ProtocolViolation(f"session.create: unknown model {model!r}")
        assert isinstance(session, dict)
        x_grok = session.get("x_grok")
        caps = x_grok.get("protocol_capabilities") if isinstance(x_grok, dict) else None
        if not isinstance(caps, list) or "conversation_attached" not in caps:
            raise ProtocolViolation(
                "session.create: x_grok.protocol_capabilities must list conversation_attached"
            )
        conn.session_id, conn.mode, conn.x_grok = str(uuid.uuid4()), model, x_grok  # type: ignore[assignment]
        server_id = f"evt_srv_{uuid.uuid4().hex}"
        await self._send(
            conn,
            {"type": "session.created", "event_id": server_id, "client_event_id": event_id}
            | {"session": {"id": conn.session_id, "model": model}},
        )
        attached = {"type": "conversation.attached", "conversation": {"id": conn.session_id}}
        await self._send(conn, attached)

    def _item(self, conn: _Conn, frame: dict[str, Any], event: dict[str, Any]) -> None:
        try:
            message = parse_message(event)
        except ProtocolViolation:
            self._record_turn(conn, None)
            raise
        self._record_turn(conn, message)
        if frame.get("session_id") != conn.session_id:
            raise ProtocolViolation(
                "conversation.item.create: session_id does not match the session"
            )
        if conn.busy():
            raise ProtocolViolation("conversation.item.create: a turn is already in progress")
        files: dict[str, SimUpload] = {}
        for file_id in [*message.mentions, *message.item_ids, *message.event_ids]:
            upload = self.state.upload_of(conn.token, file_id)
            if upload is None:
                raise ProtocolViolation(f"file not found: {file_id}")
            files[file_id] = upload
        if not message.mentions == message.item_ids == message.event_ids:
            raise ProtocolViolation("conversation.item.create: file mentions ≠ file_attachment_ids")
        conn.pending = (message.prompt, [files[i] for i in message.mentions])

    def _record_turn(self, conn: _Conn, message: Message | None) -> None:
        """One ``RecordedRequest`` per item, whose ``events`` list ``_read`` keeps appending to."""
        conn.turns += 1
        body = {
            "message": message.prompt if message else "",
            "modeId": conn.mode,
            "fileAttachments": list(message.item_ids) if message else [],
            # the REST body's names for the session's options, so tests read either kind alike
            "temporary": conn.x_grok.get("is_temporary"),
            "disableMemory": conn.x_grok.get("disable_memory"),
            "transport": "ws",
            "uid": conn.uid,
            "events": conn.events,
        }
        self._record(conn.ws, MGW_PATH, "WS", body)

    # server frames -------------------------------------------------------------------------
    async def _send(self, conn: _Conn, event: dict[str, Any]) -> None:
        if conn.closed:
            return
        frame = {"session_id": conn.session_id, "event": event}
        if conn.session_id is None:
            del frame["session_id"]
        await conn.ws.send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))

    async def _close(self, conn: _Conn) -> None:
        if not conn.closed:
            conn.closed = True
            await conn.ws.close(code=1000)

    async def _fail(self, conn: _Conn, code: str | int, message: str, **extra: Any) -> None:
        error = {"code": code, "message": message, **extra}
        await self._send(conn, {"type": "error", "error": error})
        await self._close(conn)

    def _stop_answer(self, conn: _Conn) -> None:
        if conn.answer is not None:
            conn.answer.cancel()

    async def _answer(self, conn: _Conn, prompt: str, files: list[SimUpload]) -> None:
        token, mode = conn.token, conn.mode
        fault = self.state.take_fault(token, only=TURN_FAULTS)
        name = fault.name if fault is not None else None
        if fault is not None and name == "slow":
            await asyncio.sleep(fault.delay)
        variants = self.state.gateway_variants
        if name == "403_antibot":  # §5.6: "anti_bot", or the numeric 7
            code = 7 if "antibot_code7" in variants else "anti_bot"
            return await self._fail(conn, code, ANTI_BOT["error"]["message"])
        if name == "inband_error":
            return await self._fail(conn, "rate_limited", "rate limited")
        response_id = str(uuid.uuid4())
        response = {"id": response_id, "status": "in_progress"}
        created = {"type": "response.created", "response": response}
        if name == "inband_response_error":
            await self._send(conn, created)
            error = {
                "message": "ResourceExhausted: perf_based_admission_controller",
                "severity": "STREAM_ERROR_SEVERITY_NORMAL",
            }
            output = {"stream_error": error}
            await self._send(conn, {"type": "response.grok.output", "output": output})
            return await self._close(conn)
        if not self.state.accounts[token].can_use(mode):
            text = "Model not available for this account"
            return await self._fail(conn, "model_not_available", text)
        retry_after = self.state.consume(token, mode)
        if retry_after is not None:
            message = TOO_MANY["error"]["message"]
            return await self._fail(conn, "rate_limited", message, retry_after_seconds=retry_after)
        await self._send(conn, created)
        stop_after = fault.after if fault is not None and name in ("cut", "truncate") else None
        sent = 0
        answer = build_answer(prompt, mode, files)
        for event, paced in answer_events(answer, response_id, variants):
            if stop_after is not None and sent >= stop_after:
                return await self._stop(conn, name, sent)
            if paced and self.token_delay > 0:
                await asyncio.sleep(self.token_delay)
            await self._send(conn, event)
            sent += 1
        if stop_after is not None and sent >= stop_after:
            return await self._stop(conn, name, sent)
        done = {"type": "response.done", "response": {"id": response_id, "status": "completed"}}
        await self._send(conn, done)

    async def _stop(self, conn: _Conn, fault: str | None, sent: int) -> None:
        if fault == "cut":
            raise SimulatedCut(f"simulated gateway cut after {sent} chunk events")
        await self._send(conn, {"type": "session.ended", "reason": "server_shutdown"})
        await self._close(conn)
