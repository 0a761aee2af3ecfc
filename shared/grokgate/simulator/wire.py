"""Wire helpers shared by the simulator's handlers: error bodies, the HTTP fault table, NDJSON
streaming (with the ``cut``/``truncate`` faults) and the account cookie check.

``cut`` raises :class:`SimulatedCut` inside the body iterator after ``after`` frames, so uvicorn
closes the socket mid-chunked-body (an httpx client sees ``RemoteProtocolError``); the matching
uvicorn error log is filtered out. ``truncate`` ends the same stream cleanly.

A stream given a ``record`` sets its ``outcome`` once it ends (see :class:`TrackedStream`):
``"completed"`` (every frame handed out), ``"cut"``, ``"truncated"``, or ``"client_gone"`` (the
client went away first: the server cancelled the body or a send failed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.types import Send
from starlette.websockets import WebSocket

from .state import InjectedFault, SimState

__all__ = [
    "ANTI_BOT",
    "BAD_GATEWAY_HTML",
    "BLOCKED",
    "CF_CHALLENGE_HTML",
    "FORBIDDEN",
    "HTTP_FAULTS",
    "INVALID_CREDENTIALS",
    "TOO_MANY",
    "Frames",
    "Pause",
    "Plan",
    "SimulatedCut",
    "TrackedStream",
    "err",
    "http_fault",
    "install_log_filter",
    "iso",
    "line",
    "sso_of",
    "stream",
]

CF_CHALLENGE_HTML = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper">'
    "Enable JavaScript and cookies to continue</div><script>window._cf_chl_opt={cType:"
    "'managed'};</script><script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/"
    'v1?ray=sim"></script></body></html>'
)
BAD_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>cloudflare</center></body></html>"
)


def err(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": []}}


INVALID_CREDENTIALS = err(
    16, "Failed to look up session ID. [WKE=unauthorized:invalid-credentials]"
)
ANTI_BOT = err(7, "Request rejected by anti-bot rules.")
BLOCKED = err(7, "User is blocked: Bot abuse - free tier account [WKE=unauthorized:blocked-user]")
TOO_MANY = err(8, "Too many requests")
FORBIDDEN = err(7, "Forbidden")
HTTP_FAULTS: dict[str, tuple[int, dict[str, Any] | str]] = {
    "401": (401, INVALID_CREDENTIALS),
    "403_cf": (403, CF_CHALLENGE_HTML),
    "403_antibot": (403, ANTI_BOT),
    "403_blocked": (403, BLOCKED),
    "429": (429, TOO_MANY),
    "500": (500, err(13, "Failed to send request.")),
    "502": (502, BAD_GATEWAY_HTML),
    "503": (503, err(14, "Service temporarily unavailable.")),
}


class SimulatedCut(Exception):
    """Raised inside a chat stream to drop the connection uncleanly (fault ``cut``)."""


class _CutLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        stack = [exc]
        while stack:
            item = stack.pop()
            if isinstance(item, SimulatedCut):
                return False
            if isinstance(item, BaseExceptionGroup):
                stack.extend(item.exceptions)
        return True


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _CutLogFilter) for f in logger.filters):
        logger.addFilter(_CutLogFilter())


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sso_of(state: SimState, cookies: Mapping[str, str]) -> str | None:
    """The account token of ``sso``/``sso-rw`` cookies (equal, of a known account), else None."""
    sso = cookies.get("sso")
    if not sso or cookies.get("sso-rw") != sso or sso not in state.accounts:
        return None
    return sso


def http_fault(fault: InjectedFault) -> Response:
    status, payload = HTTP_FAULTS[fault.name]
    headers: dict[str, str] = {}
    if fault.name == "403_cf":
        headers["cf-mitigated"] = "challenge"
    if fault.name == "429" and fault.retry_after is not None:
        headers["retry-after"] = str(fault.retry_after)
    if isinstance(payload, str):
        return HTMLResponse(payload, status_code=status, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


@dataclass(frozen=True)
class Pause:
    """A stream item that sleeps ``seconds`` before the next frame (not a frame itself)."""

    seconds: float


Frames = list[dict[str, Any] | Pause]


@dataclass(frozen=True)
class Plan:
    """A validated ``conversations/new`` request: ``frames()`` builds what follows the
    conversation frame, ``consume()`` spends its quota (None, or the Retry-After seconds) and
    ``allowed`` False answers "model not available"."""

    frames: Callable[[], Frames]
    consume: Callable[[], int | None]
    allowed: bool = True


class Outcome(Protocol):
    """A request record with room for how its streamed answer ended."""

    outcome: str | None


class _NoRecord:
    outcome: str | None = None


class TrackedStream(StreamingResponse):
    """A :class:`StreamingResponse` that sets ``record.outcome`` to ``"client_gone"`` when
    sending stops before the body set an outcome itself: the server cancels the body when the
    client disconnects (ASGI ``http.disconnect``), or a send fails. The body sets
    ``"completed"`` (or its fault's outcome) itself, before the final empty send."""

    def __init__(self, content: AsyncIterator[bytes], record: Outcome, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.record = record

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except BaseException:
            if self.record.outcome is None:
                self.record.outcome = "client_gone"
            raise


def stream(
    frames: Sequence[dict[str, Any] | Pause],
    *,
    token_delay: float = 0.0,
    stop_after: int | None = None,
    clean: bool = True,
    record: Outcome | None = None,
) -> StreamingResponse:
    """NDJSON of ``frames``; ``token_delay`` before each token frame; ``stop_after`` frames then
    a clean EOF (``clean``) or a :class:`SimulatedCut`; ``record.outcome`` says how it ended."""
    rec = record if record is not None else _NoRecord()

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        for frame in frames:
            if isinstance(frame, Pause):
                if frame.seconds > 0:
                    await asyncio.sleep(frame.seconds)
                continue
            if stop_after is not None and sent >= stop_after:
                if clean:
                    rec.outcome = "truncated"
                    return
                rec.outcome = "cut"
                raise SimulatedCut(f"simulated connection cut after {sent} frames")
            if token_delay > 0 and "token" in frame.get("result", {}).get("response", {}):
                await asyncio.sleep(token_delay)
            sent += 1
            yield line(frame)
        rec.outcome = "completed"

    return TrackedStream(body(), rec, media_type="application/json")


async def refuse(websocket: WebSocket, response: Response) -> None:
    """Refuse a WebSocket handshake with a real HTTP answer (a denial response), or with a
    policy close where the server has no ``websocket.http.response`` extension."""
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:
        await websocket.close(code=1008)
