"""Anthropic routes: ``/v1/messages`` and ``/v1/messages/count_tokens``.

Bodies are validated here (not by FastAPI) so that a problem is reported with its parameter
path, such as ``messages[0].content[1].source``, in Anthropic's error format. A ``thread``
(``grokgate.api.anthropic.threads``) is resolved into the whole conversation before that, and
the answer is stored once it is complete (before a stream's ``message_stop``, so the client's
next ``continue`` finds it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Request
from fastapi.responses import Response

from grokgate.api.anthropic.fields import refuse_unsupported
from grokgate.api.anthropic.render import Reply, collect, stream_events
from grokgate.api.anthropic.schemas import (
    CountTokensOut,
    CountTokensRequest,
    ErrorOut,
    MessageOut,
    MessagesRequest,
)
from grokgate.api.anthropic.threads import (
    ThreadTurn,
    ThreadUnsupportedError,
    open_turn,
    save_turn,
    thread_of,
)
from grokgate.api.anthropic.translate import parse_request, to_job, to_prompt
from grokgate.api.deps import owner_of, runtime_of, translated
from grokgate.api.routing import v1_router
from grokgate.api.sse import sse_response
from grokgate.api.streams import begin
from grokgate.core.usage import counted, estimate_usage

router = v1_router()

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 404, 429, 502, 504, 529)
}

JsonBody = Annotated[Any, Body()]


@router.post("/messages", response_model=MessageOut, responses=_ERRORS)
async def create_message(body: JsonBody, request: Request) -> Response:
    runtime = runtime_of(request)
    wire = await translated(request, lambda: parse_request(MessagesRequest, body))
    spec = runtime.registry().resolve(wire.model)
    thread = thread_of(body)
    if thread is not None and spec.is_xai:
        raise ThreadUnsupportedError(
            f"threads are not supported with the xAI model {spec.id!r}; send the whole "
            "conversation without thread",
            ["model"],
        )
    if spec.is_xai:  # the xAI relay (and httpx) load with the first xAI request
        from grokgate.api.relay import relay

        return await relay(request, spec, body, "messages")
    refuse_unsupported(body)
    turn: ThreadTurn | None = None
    if thread is not None:
        store = await runtime.conversation_store()
        turn = await open_turn(store, thread, body, owner=owner_of(request))
        whole = turn.body
        wire = await translated(request, lambda: parse_request(MessagesRequest, whole))
    show = runtime.settings.show_reasoning
    job = await translated(request, lambda: to_job(wire, spec, show_reasoning=show))
    service = await runtime.chat_service()
    events = service.stream(job)
    prompt = await counted(job.prompt)
    reply = Reply(model=job.spec.id, prompt=prompt, thinking=job.show_reasoning)

    async def keep() -> None:
        if turn is not None:
            content = [b.model_dump(mode="json") for b in reply.blocks]
            ttl = runtime.settings.responses_ttl_seconds
            await save_turn(await runtime.conversation_store(), turn, reply.id, content, ttl=ttl)

    if not wire.stream:
        message = await collect(reply, events)
        await keep()
        return Response(message.model_dump_json(), media_type="application/json")
    # Wait until an upstream accepted the request: failures until then are HTTP errors.
    started = await begin(events)
    return sse_response(
        stream_events(reply, started, on_complete=keep), ping=runtime.settings.keepalive_seconds
    )


@router.post("/messages/count_tokens", response_model=CountTokensOut, responses=_ERRORS)
async def count_tokens_route(body: JsonBody, request: Request) -> CountTokensOut:
    """The prompt's token count, as ``usage.input_tokens`` reports it; no account is used."""
    wire = await translated(request, lambda: parse_request(CountTokensRequest, body))
    runtime_of(request).registry().resolve(wire.model)
    refuse_unsupported(body, counting=True)
    prompt = await counted(await translated(request, lambda: to_prompt(wire)))
    return CountTokensOut(input_tokens=estimate_usage(prompt, "", "").prompt_tokens)
