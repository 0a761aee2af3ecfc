"""Internal events → Chat Completions objects, streamed (chunks) or whole."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field

from sse_starlette import ServerSentEvent

from grokgate.api.openai.errors import error_body
from grokgate.api.openai.schemas import (
    AssistantMessageOut,
    ChatCompletionChunkOut,
    ChatCompletionOut,
    ChoiceOut,
    ChunkChoiceOut,
    CompletionTokensDetails,
    DeltaOut,
    UsageOut,
)
from grokgate.api.sse import data_event
from grokgate.core.usage import estimate_usage
from grokgate.errors import GrokGateError, UpstreamStreamError
from grokgate.events import Event, Finish, ReasoningDelta, TextDelta
from grokgate.logs import get_logger

log = get_logger("openai")


@dataclass(slots=True)
class Answer:
    """What the events of one answer add up to."""

    model: str
    prompt: str
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    fingerprint: str | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
            self.fingerprint = event.fingerprint

    def usage(self) -> UsageOut:
        u = estimate_usage(self.prompt, "".join(self.text), "".join(self.reasoning))
        return UsageOut(
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            total_tokens=u.total_tokens,
            completion_tokens_details=CompletionTokensDetails(reasoning_tokens=u.reasoning_tokens),
        )

    def completion(self) -> ChatCompletionOut:
        reasoning = "".join(self.reasoning)
        message = AssistantMessageOut(
            content="".join(self.text), reasoning_content=reasoning or None
        )
        return ChatCompletionOut(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChoiceOut(message=message, finish_reason=self.finish_reason or "stop")],
            usage=self.usage(),
            system_fingerprint=self.fingerprint,
        )

    def chunk(self, delta: DeltaOut, finish_reason: str | None = None) -> ServerSentEvent:
        out = ChatCompletionChunkOut(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChunkChoiceOut(delta=delta, finish_reason=finish_reason)],
            system_fingerprint=self.fingerprint,
        )
        return data_event(out.model_dump_json(exclude={"usage"}))


async def collect(answer: Answer, events: AsyncIterator[Event]) -> ChatCompletionOut:
    async with aclosing(events):
        async for event in events:
            answer.add(event)
    if answer.finish_reason is None:
        raise UpstreamStreamError("the upstream answer ended without finishing")
    return answer.completion()


async def stream_chunks(
    answer: Answer, events: AsyncIterator[Event], *, include_usage: bool
) -> AsyncIterator[ServerSentEvent]:
    """Chunks for every event, the finishing chunk, usage if asked, then ``[DONE]``.

    An error after the stream began is sent as a final ``error`` event carrying the OpenAI error
    body (the SDKs raise it), never as a silent end.
    """
    try:
        async with aclosing(events):
            yield answer.chunk(DeltaOut(role="assistant", content=""))
            async for event in events:
                answer.add(event)
                if isinstance(event, TextDelta):
                    yield answer.chunk(DeltaOut(content=event.text))
                elif isinstance(event, ReasoningDelta):
                    yield answer.chunk(DeltaOut(reasoning_content=event.text))
            if answer.finish_reason is None:
                raise UpstreamStreamError("the upstream answer ended without finishing")
            yield answer.chunk(DeltaOut(), finish_reason=answer.finish_reason)
            if include_usage:
                usage = ChatCompletionChunkOut(
                    id=answer.id,
                    created=answer.created,
                    model=answer.model,
                    choices=[],
                    system_fingerprint=answer.fingerprint,
                    usage=answer.usage(),
                )
                yield data_event(usage.model_dump_json())
            yield data_event("[DONE]")
    except GrokGateError as exc:
        log.warning("stream %s ended with an error: %s", answer.id, exc.message)
        yield data_event(json.dumps(error_body(exc)), event="error")
    except Exception:
        log.exception("stream %s failed", answer.id)
        internal = GrokGateError("internal error while streaming the answer")
        yield data_event(json.dumps(error_body(internal)), event="error")
