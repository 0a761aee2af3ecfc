"""Internal events → an Anthropic ``Message``, streamed (SSE events) or whole.

One :class:`Reply` turns each event into content blocks and the stream events that build them,
so a streamed answer and a whole one always have the same blocks. Blocks follow the events:
reasoning opens a ``thinking`` block, text a ``text`` block, each tool call a ``tool_use``
block; a block of another kind closes the open one first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import ServerSentEvent

from grokgate.api.anthropic.errors import error_body
from grokgate.api.anthropic.schemas import (
    ContentBlockDeltaEvent,
    ContentBlockOut,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJsonDeltaOut,
    MessageDeltaEvent,
    MessageDeltaOut,
    MessageDeltaUsageOut,
    MessageOut,
    MessageStartEvent,
    MessageStopEvent,
    PingEvent,
    SignatureDeltaOut,
    StopReason,
    StreamEventOut,
    TextBlockOut,
    TextDeltaOut,
    ThinkingBlockOut,
    ThinkingDeltaOut,
    ToolUseBlockOut,
    UsageOut,
)
from grokgate.api.sse import data_event
from grokgate.api.streams import consume
from grokgate.core.usage import count_tokens, estimate_usage
from grokgate.errors import GrokGateError, UpstreamStreamError
from grokgate.events import Event, Finish, ReasoningDelta, TextDelta, ToolCall
from grokgate.logs import get_logger

log = get_logger("anthropic")

_STOP_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
}
# Not a secret: the signature only marks a thinking block as grokgate's (clients must send one
# back unchanged; grokgate ignores earlier thinking, so it never checks it).
_SIGNATURE_KEY = b"grokgate-thinking-v1"


def signature(thinking: str) -> str:
    digest = hmac.new(_SIGNATURE_KEY, thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def tool_use_id(call_id: str) -> str:
    """``call_<hex>`` → ``toolu_<hex>`` (Anthropic's style)."""
    return "toolu_" + call_id.removeprefix("call_")


def tool_input(arguments: str) -> dict[str, Any]:
    """The call's arguments as the object ``tool_use.input`` must be."""
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    log.warning("tool call arguments are not a JSON object; sending an empty input")
    return {}


@dataclass(slots=True)
class Reply:
    """What the events of one answer add up to, and the stream events on the way."""

    model: str
    prompt: str
    thinking: bool = True  # show reasoning as thinking blocks (else it is dropped)
    id: str = field(default_factory=lambda: "msg_" + uuid.uuid4().hex)
    blocks: list[ContentBlockOut] = field(default_factory=list)
    finish_reason: str | None = None
    _open: bool = False  # the last block is still being streamed
    _input_tokens: int | None = None

    # --- accumulation -------------------------------------------------------------------------

    def add(self, event: Event) -> list[StreamEventOut]:
        """Take one event; return the stream events it produces (possibly none)."""
        if isinstance(event, TextDelta) and event.text:
            return self._delta(TextBlockOut(), TextDeltaOut(text=event.text))
        if isinstance(event, ReasoningDelta) and event.text and self.thinking:
            return self._delta(ThinkingBlockOut(), ThinkingDeltaOut(thinking=event.text))
        if isinstance(event, ToolCall):
            block = ToolUseBlockOut(
                id=tool_use_id(event.id), name=event.name, input=tool_input(event.arguments)
            )
            out = self._close()
            out += self._open_block(block)
            out.append(self._block_delta(InputJsonDeltaOut(partial_json=json.dumps(block.input))))
            return out + self._close()
        if isinstance(event, Finish):
            self.finish_reason = event.reason
        return []

    def _delta(
        self, kind: TextBlockOut | ThinkingBlockOut, delta: TextDeltaOut | ThinkingDeltaOut
    ) -> list[StreamEventOut]:
        out: list[StreamEventOut] = []
        if not (self._open and type(self.blocks[-1]) is type(kind)):
            out = self._close() + self._open_block(kind)
        last = self.blocks[-1]
        if isinstance(last, TextBlockOut) and isinstance(delta, TextDeltaOut):
            last.text += delta.text
        elif isinstance(last, ThinkingBlockOut) and isinstance(delta, ThinkingDeltaOut):
            last.thinking += delta.thinking
        out.append(self._block_delta(delta))
        return out

    def _open_block(self, block: ContentBlockOut) -> list[StreamEventOut]:
        """Append ``block``; its start event carries it empty, as Anthropic streams it."""
        self.blocks.append(block)
        self._open = True
        return [ContentBlockStartEvent(index=len(self.blocks) - 1, content_block=_empty(block))]

    def _block_delta(
        self, delta: TextDeltaOut | ThinkingDeltaOut | SignatureDeltaOut | InputJsonDeltaOut
    ) -> ContentBlockDeltaEvent:
        return ContentBlockDeltaEvent(index=len(self.blocks) - 1, delta=delta)

    def _close(self) -> list[StreamEventOut]:
        if not self._open:
            return []
        self._open = False
        out: list[StreamEventOut] = []
        last = self.blocks[-1]
        if isinstance(last, ThinkingBlockOut):
            last.signature = signature(last.thinking)
            out.append(self._block_delta(SignatureDeltaOut(signature=last.signature)))
        out.append(ContentBlockStopEvent(index=len(self.blocks) - 1))
        return out

    # --- the message --------------------------------------------------------------------------

    @property
    def stop_reason(self) -> StopReason:
        if any(isinstance(b, ToolUseBlockOut) for b in self.blocks) and self.finish_reason in (
            None,
            "stop",
        ):
            return "tool_use"
        return _STOP_REASONS.get(self.finish_reason or "stop", "end_turn")

    @property
    def input_tokens(self) -> int:
        if self._input_tokens is None:
            self._input_tokens = estimate_usage(self.prompt, "", "").prompt_tokens
        return self._input_tokens

    def output_tokens(self) -> int:
        text = [b.text for b in self.blocks if isinstance(b, TextBlockOut)]
        calls = [
            f"{b.name} {json.dumps(b.input)}" for b in self.blocks if isinstance(b, ToolUseBlockOut)
        ]
        reasoning = [b.thinking for b in self.blocks if isinstance(b, ThinkingBlockOut)]
        return count_tokens("".join(text + calls)) + count_tokens("".join(reasoning))

    def message(self) -> MessageOut:
        self._close()
        return MessageOut(
            id=self.id,
            model=self.model,
            content=self.blocks,
            stop_reason=self.stop_reason,
            usage=UsageOut(input_tokens=self.input_tokens, output_tokens=self.output_tokens()),
        )

    def start_events(self) -> list[StreamEventOut]:
        """``message_start`` (empty content, no stop reason yet), then one ``ping``."""
        start = MessageOut(
            id=self.id,
            model=self.model,
            content=[],
            stop_reason=None,
            usage=UsageOut(input_tokens=self.input_tokens, output_tokens=1),
        )
        return [MessageStartEvent(message=start), PingEvent()]

    def end_events(self) -> list[StreamEventOut]:
        """Close the open block, then ``message_delta`` and ``message_stop``."""
        out = self._close()
        out.append(
            MessageDeltaEvent(
                delta=MessageDeltaOut(stop_reason=self.stop_reason),
                usage=MessageDeltaUsageOut(output_tokens=self.output_tokens()),
            )
        )
        out.append(MessageStopEvent())
        return out


def _empty(block: ContentBlockOut) -> ContentBlockOut:
    if isinstance(block, ToolUseBlockOut):
        return ToolUseBlockOut(id=block.id, name=block.name)
    return type(block)()


def sse(event: StreamEventOut) -> ServerSentEvent:
    return data_event(event.model_dump_json(), event=event.type)


async def collect(reply: Reply, events: AsyncIterator[Event]) -> MessageOut:
    await consume(events, reply.add)
    return reply.message()


async def stream_events(
    reply: Reply,
    events: AsyncIterator[Event],
    *,
    on_complete: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every stream event of the answer, in Anthropic's order.

    An error after the stream began is sent as a final ``error`` event with the Anthropic error
    body (the SDK raises it), never as a silent end. ``on_complete`` runs once the answer is
    whole, before its closing events are sent (a thread is stored before ``message_stop``).
    """
    try:
        async with aclosing(events):  # type: ignore[type-var]
            for out in reply.start_events():
                yield sse(out)
            async for event in events:
                for out in reply.add(event):
                    yield sse(out)
            if reply.finish_reason is None:
                raise UpstreamStreamError("the upstream answer ended without finishing")
            closing = reply.end_events()
            if on_complete is not None:
                await on_complete()
            for out in closing:
                yield sse(out)
    except GrokGateError as exc:
        log.warning("stream %s ended with an error: %s", reply.id, exc.message)
        yield data_event(json.dumps(error_body(exc)), event="error")
    except Exception:
        log.exception("stream %s failed", reply.id)
        internal = GrokGateError("internal error while streaming the answer")
        yield data_event(json.dumps(error_body(internal)), event="error")
