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
    AnnotationOut,
    AssistantMessageOut,
    ChatCompletionChunkOut,
    ChatCompletionOut,
    ChoiceOut,
    ChunkChoiceOut,
    CompletionTokensDetails,
    DeltaOut,
    FunctionCallOut,
    ToolCallDeltaOut,
    ToolCallOut,
    UrlCitationOut,
    UsageOut,
)
from grokgate.api.sse import data_event
from grokgate.api.streams import consume
from grokgate.core.citations import find_citations
from grokgate.core.usage import estimate_usage
from grokgate.errors import GrokGateError, UpstreamStreamError
from grokgate.events import Event, Finish, ReasoningDelta, Sources, TextDelta, ToolCall
from grokgate.logs import get_logger

log = get_logger("openai")


@dataclass(slots=True)
class Answer:
    """What the events of one answer add up to.

    ``legacy_functions``: the request used the deprecated ``functions`` API, so a call is
    answered as ``function_call`` (finish reason ``function_call``) instead of ``tool_calls``.
    """

    model: str
    prompt: str
    legacy_functions: bool = False
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # source url → title
    finish_reason: str | None = None
    fingerprint: str | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, ToolCall):
            self.calls.append(event)
        elif isinstance(event, Sources):
            for source in event.sources:
                self.titles.setdefault(source.url, source.title)
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
            self.fingerprint = event.fingerprint

    @property
    def finish(self) -> str:
        reason = self.finish_reason or "stop"
        if reason == "tool_calls" and self.legacy_functions:
            return "function_call"
        return reason

    def usage(self) -> UsageOut:
        answer = "".join(self.text) + "".join(_call_json(c) for c in self.calls)
        u = estimate_usage(self.prompt, answer, "".join(self.reasoning))
        return UsageOut(
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            total_tokens=u.total_tokens,
            completion_tokens_details=CompletionTokensDetails(reasoning_tokens=u.reasoning_tokens),
        )

    def annotations(self) -> list[AnnotationOut] | None:
        found = find_citations("".join(self.text), self.titles)
        if not found:
            return None
        return [
            AnnotationOut(
                url_citation=UrlCitationOut(
                    start_index=c.start, end_index=c.end, url=c.url, title=c.title
                )
            )
            for c in found
        ]

    def completion(self) -> ChatCompletionOut:
        text = "".join(self.text)
        message = AssistantMessageOut(
            content=text if text or not self.calls else None,
            reasoning_content="".join(self.reasoning) or None,
            annotations=self.annotations(),
        )
        if self.calls and self.legacy_functions:
            first = self.calls[0]
            message.function_call = FunctionCallOut(name=first.name, arguments=first.arguments)
        elif self.calls:
            message.tool_calls = [
                ToolCallOut(id=c.id, function=FunctionCallOut(name=c.name, arguments=c.arguments))
                for c in self.calls
            ]
        return ChatCompletionOut(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChoiceOut(message=message, finish_reason=self.finish)],
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

    def call_delta(self, call: ToolCall) -> DeltaOut | None:
        """The chunk delta announcing ``call`` (already added with :meth:`add`)."""
        fn = FunctionCallOut(name=call.name, arguments=call.arguments)
        if self.legacy_functions:
            return DeltaOut(function_call=fn) if len(self.calls) == 1 else None
        return DeltaOut(
            tool_calls=[ToolCallDeltaOut(index=len(self.calls) - 1, id=call.id, function=fn)]
        )


def _call_json(call: ToolCall) -> str:
    return json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)


async def collect(answer: Answer, events: AsyncIterator[Event]) -> ChatCompletionOut:
    await consume(events, answer.add)
    return answer.completion()


async def stream_chunks(
    answer: Answer, events: AsyncIterator[Event], *, include_usage: bool
) -> AsyncIterator[ServerSentEvent]:
    """Chunks for every event, the finishing chunk, usage if asked, then ``[DONE]``.

    Citations found in the text are sent as ``annotations`` on the finishing chunk. An error
    after the stream began is sent as a final ``error`` event carrying the OpenAI error body
    (the SDKs raise it), never as a silent end.
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
                elif isinstance(event, ToolCall) and (delta := answer.call_delta(event)):
                    yield answer.chunk(delta)
            if answer.finish_reason is None:
                raise UpstreamStreamError("the upstream answer ended without finishing")
            yield answer.chunk(DeltaOut(annotations=answer.annotations()), answer.finish)
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
