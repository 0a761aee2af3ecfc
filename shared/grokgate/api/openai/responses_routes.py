"""OpenAI Responses API routes: ``POST /v1/responses`` (stream and not), and the lookups.

grokgate stores no response (``store`` is always ``false``): ``GET`` and ``DELETE`` of
``/v1/responses/{id}`` answer 404, which the openai SDK raises as ``NotFoundError``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from grokgate.api.deps import require_api_key, runtime_of, translated
from grokgate.api.openai.responses_render import ResponseBuilder, collect, stream_events
from grokgate.api.openai.responses_schemas import ResponseOut, ResponsesRequest
from grokgate.api.openai.responses_translate import to_plan
from grokgate.api.openai.schemas import ErrorOut
from grokgate.api.relay import json_object, relay
from grokgate.api.sse import sse_response
from grokgate.api.streams import begin
from grokgate.core.usage import counted
from grokgate.errors import NotFoundError

_ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 404, 429, 502, 503)}
_STREAM_DOC = {
    200: {
        "description": "The response object, or with ``stream: true`` its server-sent events",
        "content": {"text/event-stream": {}},
    }
}

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])


@router.post("/responses", response_model=ResponseOut, responses={**_STREAM_DOC, **_ERRORS})
async def create_response(body: ResponsesRequest, request: Request) -> Response:
    runtime = runtime_of(request)
    spec = runtime.registry().resolve(body.model)
    if spec.is_xai:
        return await relay(request, spec, await json_object(request), "responses")
    show = runtime.settings.show_reasoning
    plan = await translated(request, lambda: to_plan(body, spec, show_reasoning=show))
    service = await runtime.chat_service()
    events = service.stream(plan.job)
    prompt = await counted(plan.job.prompt)
    builder = ResponseBuilder(model=plan.job.spec.id, prompt=prompt, echo=plan.echo)
    if not body.stream:
        out = await collect(builder, events)
        return Response(out.model_dump_json(), media_type="application/json")
    # Wait until an upstream accepted the request: failures until then are HTTP errors.
    started = await begin(events)
    return sse_response(stream_events(builder, started), ping=runtime.settings.keepalive_seconds)


def _not_stored(response_id: str) -> NotFoundError:
    shown = response_id if len(response_id) <= 64 else response_id[:64] + "…"
    return NotFoundError(
        f"Response {shown!r} not found: grokgate does not store responses (store is always "
        "false); keep the output you received and send the whole history in 'input'",
        param="response_id",
    )


@router.get("/responses/{response_id}", responses=_ERRORS)
async def retrieve_response(response_id: str) -> Response:
    raise _not_stored(response_id)


@router.delete("/responses/{response_id}", responses=_ERRORS)
async def delete_response(response_id: str) -> Response:
    raise _not_stored(response_id)
