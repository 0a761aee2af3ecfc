"""Events → Anthropic Messages: exact stream event sequences and whole messages (SDK types)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from grokgate.api.anthropic.render import Reply, collect, signature, stream_events
from grokgate.errors import UpstreamStreamError
from grokgate.events import (
    Event,
    Finish,
    ReasoningDelta,
    SearchSource,
    Served,
    Sources,
    TextDelta,
    ToolCall,
)
from tests.support import scripted

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
CALL = ToolCall("call_0123456789abcdef", "get_weather", '{"city":"Paris"}')


async def wire(events: list[Event], *, thinking: bool = True, fail: Exception | None = None):  # type: ignore[no-untyped-def]
    """(event name, data) of every SSE the renderer sends."""
    reply = Reply(model="grok-4.20-0309", prompt="[user]: hi", thinking=thinking)
    out = []
    async for sse in stream_events(reply, scripted(events, fail)):
        data = json.loads(str(sse.data))
        assert sse.event == data["type"]
        out.append(data)
    return out


def shape(data: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A compact view: (type, index, block or delta type) per event."""
    out: list[tuple[Any, ...]] = []
    for d in data:
        if d["type"] == "content_block_start":
            out.append(("start", d["index"], d["content_block"]["type"]))
        elif d["type"] == "content_block_delta":
            out.append(("delta", d["index"], d["delta"]["type"]))
        elif d["type"] == "content_block_stop":
            out.append(("stop", d["index"]))
        else:
            out.append((d["type"],))
    return out


def accumulated(data: list[dict[str, Any]]) -> Any:
    """What ``client.messages.stream(...).get_final_message()`` builds from these events."""
    snapshot = None
    for d in data:
        if d["type"] == "ping":
            continue
        event = STREAM_EVENT.validate_python(d)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs={})
    return snapshot


async def whole(events: list[Event], *, thinking: bool = True) -> Message:
    reply = Reply(model="grok-4.20-0309", prompt="[user]: hi", thinking=thinking)
    out = await collect(reply, scripted(events))
    return Message.model_validate(out.model_dump(mode="json"))


async def test_text_answer_sequence() -> None:
    events: list[Event] = [
        Served("acc", "grok_web"),
        TextDelta("Hello"),
        TextDelta(""),
        TextDelta(" world"),
        Finish(),
    ]
    data = await wire(events)
    assert shape(data) == [
        ("message_start",),
        ("ping",),
        ("start", 0, "text"),
        ("delta", 0, "text_delta"),
        ("delta", 0, "text_delta"),
        ("stop", 0),
        ("message_delta",),
        ("message_stop",),
    ]
    start = data[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] > 4 and start["usage"]["output_tokens"] == 1
    assert start["id"].startswith("msg_") and start["model"] == "grok-4.20-0309"
    assert data[2]["content_block"] == {"type": "text", "text": "", "citations": None}
    assert data[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert data[-2]["usage"]["output_tokens"] == 2
    final = accumulated(data)
    assert final.content[0].text == "Hello world"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 2


async def test_thinking_then_text_with_signature() -> None:
    events: list[Event] = [
        ReasoningDelta("Think"),
        ReasoningDelta("ing."),
        TextDelta("Answer"),
        Finish(),
    ]
    data = await wire(events)
    assert shape(data)[2:] == [
        ("start", 0, "thinking"),
        ("delta", 0, "thinking_delta"),
        ("delta", 0, "thinking_delta"),
        ("delta", 0, "signature_delta"),
        ("stop", 0),
        ("start", 1, "text"),
        ("delta", 1, "text_delta"),
        ("stop", 1),
        ("message_delta",),
        ("message_stop",),
    ]
    assert data[2]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert data[5]["delta"]["signature"] == signature("Thinking.")
    message = await whole(events)
    assert message.model_dump(include={"content"})["content"] == [
        {"type": "thinking", "thinking": "Thinking.", "signature": signature("Thinking.")},
        {"type": "text", "text": "Answer", "citations": None},
    ]
    streamed = accumulated(data).content
    assert [b.model_dump(include={"type", "text", "thinking", "signature"}) for b in streamed] == [
        b.model_dump(include={"type", "text", "thinking", "signature"}) for b in message.content
    ]


async def test_hidden_thinking_is_dropped() -> None:
    events: list[Event] = [ReasoningDelta("secret"), TextDelta("Answer"), Finish()]
    data = await wire(events, thinking=False)
    assert [s for s in shape(data) if s[0] == "start"] == [("start", 0, "text")]
    message = await whole(events, thinking=False)
    assert [b.type for b in message.content] == ["text"]


async def test_tool_calls_sequence_and_message() -> None:
    second = ToolCall("call_2", "get_time", "{}")
    events: list[Event] = [TextDelta("Checking."), CALL, second, Finish(reason="tool_calls")]
    data = await wire(events)
    assert shape(data)[2:] == [
        ("start", 0, "text"),
        ("delta", 0, "text_delta"),
        ("stop", 0),
        ("start", 1, "tool_use"),
        ("delta", 1, "input_json_delta"),
        ("stop", 1),
        ("start", 2, "tool_use"),
        ("delta", 2, "input_json_delta"),
        ("stop", 2),
        ("message_delta",),
        ("message_stop",),
    ]
    assert data[5]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_0123456789abcdef",
        "name": "get_weather",
        "input": {},
    }
    assert json.loads(data[6]["delta"]["partial_json"]) == {"city": "Paris"}
    assert data[-2]["delta"]["stop_reason"] == "tool_use"
    message = await whole(events)
    assert message.stop_reason == "tool_use"
    _text, weather, time_ = message.content
    assert weather.type == "tool_use" and weather.id == "toolu_0123456789abcdef"
    assert weather.input == {"city": "Paris"}
    assert time_.type == "tool_use" and (time_.id, time_.input) == ("toolu_2", {})
    final = accumulated(data)
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[1].input == {"city": "Paris"}


async def test_tool_call_with_plain_stop_is_tool_use_and_bad_arguments_become_empty() -> None:
    message = await whole([ToolCall("call_x", "f", "[1, 2]"), Finish()])
    assert message.stop_reason == "tool_use"
    assert message.content[0].type == "tool_use" and message.content[0].input == {}


async def test_reasoning_after_text_opens_a_new_block() -> None:
    events: list[Event] = [TextDelta("a"), ReasoningDelta("b"), TextDelta("c"), Finish()]
    data = await wire(events)
    starts = [s for s in shape(data) if s[0] in ("start", "stop")]
    assert starts == [
        ("start", 0, "text"),
        ("stop", 0),
        ("start", 1, "thinking"),
        ("stop", 1),
        ("start", 2, "text"),
        ("stop", 2),
    ]
    assert [b.type for b in (await whole(events)).content] == ["text", "thinking", "text"]


async def test_length_is_max_tokens_and_sources_are_ignored() -> None:
    sources = Sources((SearchSource("https://example.com", "Example"),))
    events: list[Event] = [sources, TextDelta("cut"), Finish(reason="length")]
    data = await wire(events)
    assert data[-2]["delta"]["stop_reason"] == "max_tokens"
    message = await whole(events)
    assert message.stop_reason == "max_tokens" and message.stop_sequence is None


async def test_whole_message_shape() -> None:
    message = await whole([TextDelta("Hi"), Finish()])
    assert message.id.startswith("msg_") and message.type == "message"
    assert message.role == "assistant" and message.model == "grok-4.20-0309"
    assert message.usage.input_tokens > 4 and message.usage.output_tokens == 1
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0


async def test_every_stream_event_validates_as_an_sdk_event() -> None:
    events: list[Event] = [ReasoningDelta("r"), TextDelta("t"), CALL, Finish(reason="tool_calls")]
    for d in await wire(events):
        if d["type"] != "ping":
            assert STREAM_EVENT.validate_python(d).type == d["type"]


@pytest.mark.parametrize(
    ("fail", "kind"),
    [
        (UpstreamStreamError("the upstream stream broke"), "api_error"),
        (RuntimeError("bug"), "api_error"),
    ],
)
async def test_error_after_start_is_a_final_error_event(fail: Exception, kind: str) -> None:
    data = await wire([TextDelta("partial")], fail=fail)
    assert shape(data)[:4] == [
        ("message_start",),
        ("ping",),
        ("start", 0, "text"),
        ("delta", 0, "text_delta"),
    ]
    assert data[-1]["type"] == "error"
    assert data[-1]["error"]["type"] == kind and data[-1]["error"]["message"]
    assert "bug" not in data[-1]["error"]["message"]  # internal errors are not shown


async def test_answer_without_finish_is_an_error() -> None:
    data = await wire([TextDelta("partial")])
    assert data[-1]["type"] == "error"
    with pytest.raises(UpstreamStreamError):
        await whole([TextDelta("partial")])
