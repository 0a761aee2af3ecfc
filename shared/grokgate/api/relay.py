"""Routes' side of the xAI relay: forward the client's JSON, hand back the upstream's answer.

A non-streamed answer goes back byte for byte. A stream goes back event by event (names and
``[DONE]`` included) through the one SSE writer, which frames each event anew with ``\n`` line
endings whatever the upstream used; an error after it began becomes a final
``error`` event in the surface's own format, as on every other stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response
from sse_starlette import ServerSentEvent

from grokgate.api.anthropic.errors import error_body as anthropic_error_body
from grokgate.api.deps import runtime_of
from grokgate.api.openai.errors import error_body as openai_error_body
from grokgate.api.openai.responses_schemas import ErrorEvent
from grokgate.api.openai.schemas import ErrorDetail
from grokgate.api.sse import data_event, sse_response
from grokgate.api.streams import begin
from grokgate.core.registry import ModelSpec
from grokgate.errors import GrokGateError, InvalidRequestError
from grokgate.events import Served
from grokgate.logs import get_logger
from grokgate.upstream.xai.client import XaiEvent

Surface = Literal["chat", "responses", "messages", "images"]
PATHS: dict[Surface, str] = {
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
    "messages": "/v1/messages",
    "images": "/v1/images/generations",
}
log = get_logger("relay")


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (FastAPI has validated it already)."""
    try:
        body = await request.json()
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise InvalidRequestError("the body is not valid JSON", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object", code="invalid_json")
    return body


async def relay(
    request: Request, spec: ModelSpec, body: Mapping[str, Any], surface: Surface
) -> Response:
    """Serve ``body`` with the xAI model ``spec`` and answer as the upstream did."""
    runtime = runtime_of(request)
    service = await runtime.relay_service()
    path = PATHS[surface]
    extra = {k: v for k in ("anthropic-version", "anthropic-beta") if (v := request.headers.get(k))}
    if not body.get("stream"):
        data, ctype = await service.call(spec, path, body, extra)
        return Response(data, media_type=ctype)
    started = await begin(service.stream(spec, path, body, extra))  # type: ignore[arg-type]
    return sse_response(
        relayed_events(started, surface, spec.id),  # type: ignore[arg-type]
        ping=runtime.settings.keepalive_seconds,
    )


async def relayed_events(
    source: AsyncIterator[Served | XaiEvent], surface: Surface, model: str
) -> AsyncIterator[ServerSentEvent]:
    """The xAI stream's events as ours; a failure mid-stream is the surface's error event."""
    failure = _FAILURES[surface]
    relayed = 0
    try:
        async for event in source:
            if isinstance(event, XaiEvent):
                relayed += 1
                yield data_event(event.data, event=event.event)
    except GrokGateError as exc:
        log.warning("%s: the relayed stream ended with an error: %s", model, exc.message)
        yield failure(exc, relayed)
    except Exception:
        log.exception("%s: the relayed stream failed", model)
        yield failure(GrokGateError("internal error while relaying the answer"), relayed)


def _openai(error: GrokGateError, _: int) -> ServerSentEvent:
    return data_event(json.dumps(openai_error_body(error)), event="error")


def _responses(error: GrokGateError, relayed: int) -> ServerSentEvent:
    detail = ErrorDetail.model_validate(openai_error_body(error)["error"])
    event = ErrorEvent(
        sequence_number=relayed,
        code=detail.code,
        message=detail.message,
        param=detail.param,
        error=detail,
    )
    return data_event(event.model_dump_json(), event="error")


def _anthropic(error: GrokGateError, _: int) -> ServerSentEvent:
    return data_event(json.dumps(anthropic_error_body(error)), event="error")


_FAILURES: dict[Surface, Callable[[GrokGateError, int], ServerSentEvent]] = {
    "chat": _openai,
    "responses": _responses,
    "messages": _anthropic,
    "images": _openai,
}
