"""Internal events → a Responses API object, streamed as semantic events or returned whole.

:class:`ResponseBuilder` is one state machine for both: it turns each internal event into the
stream events OpenAI sends (``response.created``, ``response.in_progress``, then per output item
``output_item.added`` … ``output_item.done``, then ``response.completed`` or
``response.incomplete``) and keeps the response object they add up to, so the streamed final
object and the non-streamed one are the same.

Output items, in the order the answer produces them: ``reasoning`` (its text as one
``summary_text``), ``message`` (one ``output_text`` part whose ``url_citation`` annotations are
found in the final text, titles from the search results) and ``function_call`` items. An item of
one kind is closed before an item of another kind opens, so interleaved reasoning and text give
several items, each with its own ``output_index``.

An error after the stream began ends it with ``response.failed`` (the response with ``error``)
and then an ``error`` event carrying both the documented flat fields and the nested ``error``
object OpenAI really sends, on which the openai SDK raises ``APIError``: never a silent end.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sse_starlette import ServerSentEvent

from grokgate.api.openai import stored_ids
from grokgate.api.openai.errors import error_body
from grokgate.api.openai.responses_schemas import (
    AnnotationAddedEvent,
    ArgumentsDeltaEvent,
    ArgumentsDoneEvent,
    ContentPartEvent,
    EchoedRequest,
    ErrorEvent,
    FunctionCallOut,
    IncompleteDetailsOut,
    ItemStatus,
    LifecycleEvent,
    MessageOut,
    OutputItemEvent,
    OutputTextOut,
    ReasoningOut,
    ResponseErrorOut,
    ResponseOut,
    ResponseStatus,
    ResponseUsageOut,
    StreamEvent,
    SummaryPartEvent,
    SummaryTextDeltaEvent,
    SummaryTextDoneEvent,
    SummaryTextOut,
    TextDeltaEvent,
    TextDoneEvent,
    UrlCitationOut,
)
from grokgate.api.openai.schemas import ErrorDetail
from grokgate.api.sse import data_event
from grokgate.core.citations import UrlCitation, find_citations
from grokgate.core.usage import estimate_usage
from grokgate.errors import GrokGateError, UpstreamStreamError
from grokgate.events import Event, Finish, ReasoningDelta, Sources, TextDelta, ToolCall
from grokgate.logs import get_logger

log = get_logger("responses")
E = TypeVar("E", bound=StreamEvent)

Finished = Callable[[ResponseOut], Awaitable[None]]


@dataclass(slots=True)
class _Item:
    """One output item under construction."""

    kind: str  # reasoning | message | function_call
    index: int
    id: str = ""
    chunks: list[str] = field(default_factory=list)
    call: ToolCall | None = None
    citations: list[UrlCitation] = field(default_factory=list)
    status: ItemStatus = "in_progress"

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def part(self) -> OutputTextOut:
        annotations = [
            UrlCitationOut(start_index=c.start, end_index=c.end, url=c.url, title=c.title)
            for c in self.citations
        ]
        return OutputTextOut(text=self.text, annotations=annotations)

    def out(self, *, added: bool = False) -> MessageOut | ReasoningOut | FunctionCallOut:
        """The item as announced (``added``: empty) or as it stands now."""
        status: ItemStatus = "in_progress" if added else self.status
        if self.kind == "reasoning":
            summary = [] if added or not self.chunks else [SummaryTextOut(text=self.text)]
            return ReasoningOut(id=self.id, summary=summary)
        if self.kind == "message":
            content = [] if added else [self.part()]
            return MessageOut(id=self.id, status=status, content=content)
        assert self.call is not None
        return FunctionCallOut(
            id=self.id,
            call_id=self.call.id,
            name=self.call.name,
            arguments="" if added else self.call.arguments,
            status=status,
        )


class ResponseBuilder:
    """The events and the response object of one answer (see the module docstring)."""

    def __init__(
        self,
        *,
        model: str,
        prompt: str,
        echo: EchoedRequest,
        hex_: str | None = None,
        first: int = 0,
    ) -> None:
        """``hex_`` and ``first``: the response's id is ``resp_<hex_>`` and its n-th output
        item's ``<prefix>_<hex_>_<first + n>`` (see :mod:`.stored_ids`)."""
        self.hex = hex_ or stored_ids.new_hex()
        self.first = first
        self.id = stored_ids.response_id(self.hex)
        self.created_at = int(time.time())
        self.model = model
        self.prompt = prompt
        self.echo = echo
        self.items: list[_Item] = []
        self.open: _Item | None = None
        self.titles: dict[str, str] = {}
        self.finish_reason: str | None = None
        self.status: ResponseStatus = "in_progress"
        self.error: ResponseErrorOut | None = None
        self.completed_at: int | None = None
        self._seq = 0

    def _n(self) -> int:
        self._seq += 1
        return self._seq - 1

    # --- the response object ------------------------------------------------------------------

    def usage(self) -> ResponseUsageOut:
        text = "".join(i.text for i in self.items if i.kind == "message")
        calls = [
            {"name": i.call.name, "arguments": i.call.arguments}
            for i in self.items
            if i.call is not None
        ]
        if calls:  # tool-call answers count the JSON of the calls (docs/grok-protocol.md §11)
            text += json.dumps(calls, ensure_ascii=False)
        reasoning = "".join(i.text for i in self.items if i.kind == "reasoning")
        u = estimate_usage(self.prompt, text, reasoning)
        return ResponseUsageOut.model_validate(
            {
                "input_tokens": u.prompt_tokens,
                "output_tokens": u.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
                "total_tokens": u.total_tokens,
            }
        )

    def response(self) -> ResponseOut:
        done = self.status in ("completed", "incomplete")
        incomplete = IncompleteDetailsOut(reason="max_output_tokens")
        return ResponseOut(
            **dict(self.echo),
            id=self.id,
            created_at=self.created_at,
            completed_at=self.completed_at,
            status=self.status,
            model=self.model,
            output=[item.out() for item in self.items],
            error=self.error,
            incomplete_details=incomplete if self.status == "incomplete" else None,
            usage=self.usage() if done else None,
        )

    # --- events -------------------------------------------------------------------------------

    def _ev(self, cls: type[E], about: _Item | None = None, /, **fields: Any) -> E:
        """An event of ``cls``, numbered, about an item's content when ``about`` is given."""
        if about is not None:
            fields.update(item_id=about.id, output_index=about.index)
        return cls(sequence_number=self._n(), **fields)

    def _lifecycle(self, kind: str) -> LifecycleEvent:
        return self._ev(LifecycleEvent, type=kind, response=self.response())

    def _item_event(self, item: _Item, *, added: bool) -> OutputItemEvent:
        kind = "response.output_item.added" if added else "response.output_item.done"
        return self._ev(
            OutputItemEvent, type=kind, output_index=item.index, item=item.out(added=added)
        )

    def start(self) -> list[StreamEvent]:
        return [self._lifecycle("response.created"), self._lifecycle("response.in_progress")]

    def add(self, event: Event) -> list[StreamEvent]:
        if isinstance(event, TextDelta | ReasoningDelta):
            if not event.text:
                return []
            text = isinstance(event, TextDelta)
            out = self._open("message" if text else "reasoning")
            item = self.open
            assert item is not None
            item.chunks.append(event.text)
            if text:
                out.append(self._ev(TextDeltaEvent, item, content_index=0, delta=event.text))
            else:
                out.append(self._ev(SummaryTextDeltaEvent, item, summary_index=0, delta=event.text))
            return out
        if isinstance(event, Sources):
            for source in event.sources:
                if source.title:
                    self.titles.setdefault(source.url, source.title)
            return []
        if isinstance(event, ToolCall):
            return self._call(event)
        if isinstance(event, Finish):
            self.finish_reason = event.reason
            return self._close()
        return []  # Served

    def end(self) -> list[StreamEvent]:
        """The closing events; the answer must have finished."""
        if self.finish_reason is None:
            raise UpstreamStreamError("the upstream answer ended without finishing")
        out = self._close()
        if not any(item.kind != "reasoning" for item in self.items):
            out += self._open("message") + self._close()  # an (empty) answer is a message
        length = self.finish_reason == "length"
        self.status = "incomplete" if length else "completed"
        if not length:
            self.completed_at = int(time.time())
        out.append(self._lifecycle("response.incomplete" if length else "response.completed"))
        return out

    def fail(self, error: GrokGateError) -> list[StreamEvent]:
        """``response.failed``, then the ``error`` event the SDK raises on."""
        detail = ErrorDetail.model_validate(error_body(error)["error"])
        code = "rate_limit_exceeded" if error.openai_type == "rate_limit_error" else "server_error"
        self.status = "failed"
        self.error = ResponseErrorOut(
            code=code, message=detail.message, type=detail.type, param=detail.param
        )
        if self.open is not None:
            self.open.status = "incomplete"
        failed = self._lifecycle("response.failed")
        return [
            failed,
            self._ev(
                ErrorEvent,
                code=detail.code,
                message=detail.message,
                param=detail.param,
                error=detail,
            ),
        ]

    def _item(self, kind: str, call: ToolCall | None = None) -> _Item:
        index = len(self.items)
        item_id = stored_ids.item_id(kind, self.hex, self.first + index)
        return _Item(kind, index=index, id=item_id, call=call)

    def _open(self, kind: str) -> list[StreamEvent]:
        if self.open is not None and self.open.kind == kind:
            return []
        out = self._close()
        item = self.open = self._item(kind)
        self.items.append(item)
        out.append(self._item_event(item, added=True))
        if kind == "reasoning":
            kind_added = "response.reasoning_summary_part.added"
            part = SummaryTextOut(text="")
            out.append(
                self._ev(SummaryPartEvent, item, type=kind_added, summary_index=0, part=part)
            )
        else:
            kind_added = "response.content_part.added"
            empty = OutputTextOut(text="")
            out.append(
                self._ev(ContentPartEvent, item, type=kind_added, content_index=0, part=empty)
            )
        return out

    def _close(self) -> list[StreamEvent]:
        item, self.open = self.open, None
        if item is None:
            return []
        out: list[StreamEvent] = []
        if item.kind == "reasoning":
            item.status = "completed"
            summary = SummaryTextOut(text=item.text)
            out.append(self._ev(SummaryTextDoneEvent, item, summary_index=0, text=summary.text))
            kind = "response.reasoning_summary_part.done"
            out.append(self._ev(SummaryPartEvent, item, type=kind, summary_index=0, part=summary))
        else:
            item.status = "incomplete" if self.finish_reason == "length" else "completed"
            item.citations = find_citations(item.text, self.titles)
            part = item.part()
            for k, note in enumerate(part.annotations):
                out.append(
                    self._ev(
                        AnnotationAddedEvent,
                        item,
                        content_index=0,
                        annotation_index=k,
                        annotation=note,
                    )
                )
            out.append(self._ev(TextDoneEvent, item, content_index=0, text=part.text))
            kind = "response.content_part.done"
            out.append(self._ev(ContentPartEvent, item, type=kind, content_index=0, part=part))
        out.append(self._item_event(item, added=False))
        return out

    def _call(self, call: ToolCall) -> list[StreamEvent]:
        out = self._close()
        n = self.first + len(self.items)
        # Our own call id, which names this response (an item_reference may use it).
        call = ToolCall(stored_ids.call_id(self.hex, n), call.name, call.arguments)
        if not call.arguments.strip():  # no arguments: the SDK parses strict tools' JSON
            call = ToolCall(call.id, call.name, "{}")
        item = self._item("function_call", call)
        self.items.append(item)
        out.append(self._item_event(item, added=True))
        out.append(self._ev(ArgumentsDeltaEvent, item, delta=call.arguments))
        out.append(self._ev(ArgumentsDoneEvent, item, arguments=call.arguments))
        item.status = "completed"
        out.append(self._item_event(item, added=False))
        return out


# --- drivers ----------------------------------------------------------------------------------


def sse(event: StreamEvent) -> ServerSentEvent:
    return data_event(event.model_dump_json(), event=event.type)


async def collect(
    builder: ResponseBuilder, events: AsyncIterator[Event], finished: Finished | None = None
) -> ResponseOut:
    """The whole response (a failure propagates: the client gets an HTTP error);
    ``finished`` sees it first (it stores it)."""
    async with aclosing(events):
        builder.start()
        async for event in events:
            builder.add(event)
    final = builder.end()[-1]
    assert isinstance(final, LifecycleEvent)
    if finished is not None:
        await finished(final.response)
    return final.response


async def stream_events(
    builder: ResponseBuilder, events: AsyncIterator[Event], finished: Finished | None = None
) -> AsyncIterator[ServerSentEvent]:
    """Every stream event as SSE (``event: <type>``, ``data: <json with "type">``);
    ``finished`` sees the final response before the client gets its last event."""
    try:
        async with aclosing(events):
            for out in builder.start():
                yield sse(out)
            async for event in events:
                for out in builder.add(event):
                    yield sse(out)
            closing = builder.end()
            for out in closing[:-1]:
                yield sse(out)
            final = closing[-1]
            if finished is not None and isinstance(final, LifecycleEvent):
                await finished(final.response)
            yield sse(final)
    except GrokGateError as exc:
        log.warning("response %s ended with an error: %s", builder.id, exc.message)
        for out in builder.fail(exc):
            yield sse(out)
    except Exception:
        log.exception("response %s failed", builder.id)
        for out in builder.fail(GrokGateError("internal error while streaming the answer")):
            yield sse(out)
