"""OpenAI Responses API routes: ``POST /v1/responses`` (stream and not), and the stored
response's ``GET``, ``DELETE`` and ``GET …/input_items``.

Responses are stored unless the request says ``store: false`` (docs/stored-responses.md): for
``GROKGATE_RESPONSES_TTL`` seconds, visible only to the API key that made them (another key gets
the same 404 as a missing id).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from grokgate.api.deps import owner_of, runtime_of, translated
from grokgate.api.openai.responses_render import ResponseBuilder, collect, stream_events
from grokgate.api.openai.responses_schemas import ConversationRefOut, ResponseOut, ResponsesRequest
from grokgate.api.openai.responses_state import Turn, prepare
from grokgate.api.openai.responses_translate import refuse_unimplemented, to_plan
from grokgate.api.openai.schemas import ErrorOut
from grokgate.api.openai.stored_pages import PageQuery, page
from grokgate.api.routing import v1_router
from grokgate.api.sse import sse_response
from grokgate.api.streams import begin
from grokgate.core.usage import counted
from grokgate.errors import NotFoundError
from grokgate.stores.conversations import StoredRecord

_ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 404, 429, 502, 503)}
_STREAM_DOC = {
    200: {
        "description": "The response object, or with ``stream: true`` its server-sent events",
        "content": {"text/event-stream": {}},
    }
}

router = v1_router()


@router.post("/responses", response_model=ResponseOut, responses={**_STREAM_DOC, **_ERRORS})
async def create_response(body: ResponsesRequest, request: Request) -> Response:
    runtime = runtime_of(request)
    spec = runtime.registry().resolve(body.model)
    if not spec.is_xai:
        refuse_unimplemented(body)
    turn = await prepare(
        body,
        runtime.conversation_store,
        owner=owner_of(request),
        ttl=runtime.settings.responses_ttl_seconds,
    )
    if spec.is_xai:  # the xAI relay (and httpx) load with the first xAI request
        from grokgate.api.openai.responses_xai import relay_turn
        from grokgate.api.relay import json_object

        return await relay_turn(request, spec, await json_object(request), turn)
    show = runtime.settings.show_reasoning
    plan = await translated(
        request, lambda: to_plan(body, spec, show_reasoning=show, items=turn.model_input())
    )
    service = await runtime.chat_service()
    events = service.stream(plan.job)
    prompt = await counted(plan.job.prompt)
    builder = ResponseBuilder(
        model=plan.job.spec.id,
        prompt=prompt,
        echo=_echo(plan.echo, turn),
        hex_=turn.hex,
        first=turn.first_output,
    )

    async def finished(out: ResponseOut) -> None:
        await turn.finish(json.loads(out.model_dump_json()))

    if not body.stream:
        out = await collect(builder, events, finished)
        return Response(out.model_dump_json(), media_type="application/json")
    # Wait until an upstream accepted the request: failures until then are HTTP errors.
    started = await begin(events)
    return sse_response(
        stream_events(builder, started, finished), ping=runtime.settings.keepalive_seconds
    )


def _echo(echo: Any, turn: Turn) -> Any:
    conversation = ConversationRefOut(id=turn.conversation.id) if turn.conversation else None
    return echo.model_copy(
        update={
            "store": turn.keep,
            "previous_response_id": turn.previous_id,
            "conversation": conversation,
        }
    )


def response_not_found(response_id: str) -> NotFoundError:
    shown = response_id if len(response_id) <= 80 else response_id[:80] + "…"
    return NotFoundError(f"Response with id '{shown}' not found.")


async def _stored(request: Request, response_id: str) -> StoredRecord:
    store = await runtime_of(request).conversation_store()
    record = await store.get("response", response_id, owner=owner_of(request))
    if record is None:
        raise response_not_found(response_id)
    return record


@router.get("/responses/{response_id}", response_model=ResponseOut, responses=_ERRORS)
async def retrieve_response(response_id: str, request: Request) -> Response:
    record = await _stored(request, response_id)
    return JSONResponse(record.body.get("response") or {})


@router.delete("/responses/{response_id}", responses=_ERRORS)
async def delete_response(response_id: str, request: Request) -> Response:
    store = await runtime_of(request).conversation_store()
    if not await store.delete("response", response_id, owner=owner_of(request)):
        raise response_not_found(response_id)
    return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})


@router.get("/responses/{response_id}/input_items", responses=_ERRORS)
async def list_input_items(
    response_id: str, request: Request, query: Annotated[PageQuery, Depends()]
) -> Response:
    record = await _stored(request, response_id)
    return JSONResponse(page(list(record.body.get("input") or []), query))
