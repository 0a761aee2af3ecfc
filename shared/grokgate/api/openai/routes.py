"""OpenAI ``/v1/chat/completions`` (``/v1/models`` is in :mod:`.models_routes`)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from grokgate.api.deps import runtime_of, translated
from grokgate.api.openai.media_chat import media_events
from grokgate.api.openai.render import Answer, collect, stream_chunks
from grokgate.api.openai.schemas import (
    ChatCompletionOut,
    ChatCompletionRequest,
    ErrorOut,
)
from grokgate.api.openai.translate import to_job
from grokgate.api.routing import v1_router
from grokgate.api.sse import sse_response
from grokgate.api.streams import begin
from grokgate.core.registry import Kind
from grokgate.core.usage import counted

_ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 404, 429, 502, 503)}

chat_router = v1_router()


@chat_router.post("/chat/completions", response_model=ChatCompletionOut, responses=_ERRORS)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    runtime = runtime_of(request)
    spec = runtime.registry().resolve(body.model)
    if spec.is_xai:  # the xAI relay (and httpx) load with the first xAI request
        from grokgate.api.relay import json_object, relay

        return await relay(request, spec, await json_object(request), "chat")
    if spec.kind is not Kind.CHAT:  # pictures as markdown, for chat-only clients
        events = media_events(body, spec, request)
        answer = Answer(model=spec.id, prompt=_prompt_text(body))
    else:
        show = runtime.settings.show_reasoning
        job = await translated(request, lambda: to_job(body, spec, show_reasoning=show))
        service = await runtime.chat_service()
        events = service.stream(job)
        answer = Answer(
            model=job.spec.id,
            prompt=await counted(job.prompt),
            legacy_functions=bool(body.functions and not body.tools),
        )
    if not body.stream:
        completion = await collect(answer, events)
        return Response(completion.model_dump_json(), media_type="application/json")
    # Wait until an upstream accepted the request: failures until then are HTTP errors.
    started = await begin(events)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return sse_response(
        stream_chunks(answer, started, include_usage=include_usage),
        ping=runtime.settings.keepalive_seconds,
    )


def _prompt_text(body: ChatCompletionRequest) -> str:
    """What the usage estimate counts as the prompt of a media answer."""
    return "\n".join(m.content for m in body.messages if isinstance(m.content, str))
