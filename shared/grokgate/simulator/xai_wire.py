"""Wire helpers of the xAI fake: error envelopes (OpenAI and Anthropic), the HTTP fault table,
SSE streaming (token delay, the chunk gate, ``cut``, chunk timestamps) and request parsing.

``cut`` raises :class:`XaiCut` inside the body iterator, so the server drops the connection
mid-body (an httpx client sees ``RemoteProtocolError``; over HTTP/2 the stream is reset). The
matching server error logs (uvicorn, hypercorn) are filtered out by :func:`install_cut_filter`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.responses import JSONResponse, Response, StreamingResponse

from .wire import TrackedStream
from .xai_state import XaiFault, XaiRecord, XaiState

__all__ = [
    "FAULT_ERRORS",
    "Flavor",
    "SseEvent",
    "TextRequest",
    "XaiCut",
    "anthropic_error",
    "cut_json",
    "dumps",
    "error_response",
    "fault_response",
    "install_cut_filter",
    "invalid_request",
    "json_response",
    "openai_error",
    "parse",
    "sse",
]

Flavor = Literal["openai", "anthropic"]
M = TypeVar("M", bound=BaseModel)

# kind -> (status, OpenAI type, OpenAI code, Anthropic type, message)
FAULT_ERRORS: dict[str, tuple[int, str, str, str, str]] = {
    "429": (
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
        "rate_limit_error",
        "Rate limit exceeded: too many requests for this API key. Please retry later.",
    ),
    "498": (
        498,
        "server_error",
        "capacity_exceeded",
        "overloaded_error",
        "Capacity exceeded: the service is over capacity. Please try again later.",
    ),
    "500": (500, "server_error", "internal_error", "api_error", "Internal server error."),
    "502": (502, "server_error", "upstream_error", "api_error", "Bad gateway."),
    "503": (
        503,
        "server_error",
        "service_unavailable",
        "overloaded_error",
        "Service temporarily unavailable.",
    ),
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


class XaiCut(Exception):
    """Raised inside a response body to drop the connection uncleanly (fault ``cut``)."""


class _CutLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        stack: list[BaseException | None] = [record.exc_info[1] if record.exc_info else None]
        while stack:
            item = stack.pop()
            if isinstance(item, XaiCut):
                return False
            if isinstance(item, BaseExceptionGroup):
                stack.extend(item.exceptions)
            elif item is not None:
                stack.extend([item.__cause__, item.__context__])
        return True


def install_cut_filter() -> None:
    for name in ("uvicorn.error", "hypercorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _CutLogFilter) for f in logger.filters):
            logger.addFilter(_CutLogFilter())


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def openai_error(
    message: str, type_: str = "invalid_request_error", code: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code, **extra}}


def anthropic_error(message: str, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def error_response(
    flavor: Flavor,
    status: int,
    message: str,
    code: str,
    *,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    """An error in ``flavor``'s envelope; Anthropic's type comes from the status."""
    if flavor == "anthropic":
        kind = type_ if type_ and type_.endswith("_error") else None
        body = anthropic_error(message, kind or _ANTHROPIC_TYPES.get(status, "api_error"))
    else:
        extra = {"param": param} if param is not None else {}
        body = openai_error(message, type_ or "invalid_request_error", code, **extra)
    return JSONResponse(body, status_code=status, headers=headers)


def fault_response(flavor: Flavor, fault: XaiFault) -> JSONResponse:
    status, oa_type, code, an_type, message = FAULT_ERRORS[fault.kind]
    headers = {}
    if fault.retry_after is not None:
        headers["retry-after"] = str(fault.retry_after)
    type_ = an_type if flavor == "anthropic" else oa_type
    return error_response(flavor, status, message, code, type_=type_, headers=headers)


class TextRequest(BaseModel):
    """Base of the text endpoints' request bodies (unknown fields are kept)."""

    model_config = ConfigDict(extra="allow")

    model: str
    stream: bool = False


def parse(model: type[M], body: Any) -> M | str:
    """``body`` validated as ``model``, or a one-line message naming the first problem."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])


@dataclass(frozen=True)
class SseEvent:
    """One SSE event: ``data`` (a dict → JSON, or a literal such as ``[DONE]``), an optional
    ``event:`` name, and ``content`` True for token events (delay and gate apply)."""

    data: dict[str, Any] | str
    event: str | None = None
    content: bool = False

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else dumps(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {data}\n\n".encode()


def sse(
    events: Sequence[SseEvent],
    *,
    state: XaiState,
    record: XaiRecord,
    token_delay: float = 0.0,
    cut_after: int | None = None,
) -> StreamingResponse:
    """Stream ``events``: ``token_delay`` before each content event, the gate before each
    content event after the first, a timestamp in ``record.chunk_times`` just before each
    write, and :class:`XaiCut` once ``cut_after`` events were written. ``record.outcome``
    becomes ``"completed"`` once every event was handed out, ``"cut"``, or ``"client_gone"``
    when the client went away first (see :class:`.wire.TrackedStream`)."""

    async def body() -> AsyncIterator[bytes]:
        contents = 0
        for written, event in enumerate(events):
            if cut_after is not None and written >= cut_after:
                record.outcome = "cut"
                raise XaiCut(f"simulated connection cut after {written} events")
            if event.content:
                if contents and state.hold_chunks:
                    await state.wait_gate()
                if token_delay > 0:
                    await asyncio.sleep(token_delay)
                contents += 1
            record.chunk_times.append(time.monotonic())
            yield event.encode()
        record.outcome = "completed"

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return TrackedStream(body(), record, media_type="text/event-stream", headers=headers)


def cut_json(payload: Any, status: int = 200) -> StreamingResponse:
    """The first half of ``payload``'s JSON, then a dropped connection (fault ``cut``)."""
    raw = dumps(payload).encode()

    async def body() -> AsyncIterator[bytes]:
        yield raw[: max(1, len(raw) // 2)]
        raise XaiCut("simulated connection cut mid-body")

    return StreamingResponse(body(), status_code=status, media_type="application/json")


def invalid_request(flavor: Flavor, message: str) -> JSONResponse:
    """400 ``invalid_request``; ``param`` is the field a ``field: problem`` message names."""
    param = message.split(":", 1)[0].split(".", 1)[0] if ": " in message else None
    return error_response(flavor, 400, message, "invalid_request", param=param)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")
