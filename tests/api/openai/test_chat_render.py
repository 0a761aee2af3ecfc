"""Events → Chat Completions: tool calls, citations, finish reasons (checked with SDK types)."""

from __future__ import annotations

import json

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from grokgate.api.openai.render import Answer, collect, stream_chunks
from grokgate.events import (
    Event,
    Finish,
    ReasoningDelta,
    SearchSource,
    Sources,
    TextDelta,
    ToolCall,
)
from tests.support import scripted

CALL = ToolCall("call_0123456789abcdef01234567", "get_weather", '{"city":"Paris"}')
URL = "https://example.com/grok-sim/1"


async def chunks(answer: Answer, events: list[Event]) -> list[dict[str, object]]:
    out = []
    async for sse in stream_chunks(answer, scripted(events), include_usage=True):
        assert sse.event is None, sse.data
        if sse.data != "[DONE]":
            out.append(json.loads(str(sse.data)))
    return out


async def test_tool_calls_non_stream() -> None:
    answer = Answer(model="m", prompt="p")
    out = await collect(answer, scripted([CALL, Finish(reason="tool_calls")]))
    parsed = ChatCompletion.model_validate(out.model_dump(mode="json"))
    choice = parsed.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id == CALL.id and call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert parsed.usage is not None and parsed.usage.completion_tokens > 0


async def test_tool_calls_stream() -> None:
    second = ToolCall("call_2", "get_time", "{}")
    data = await chunks(Answer(model="m", prompt="p"), [CALL, second, Finish(reason="tool_calls")])
    parsed = [ChatCompletionChunk.model_validate(c) for c in data]
    deltas = [c.choices[0].delta for c in parsed if c.choices]
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    assert [(c.index, c.id, c.function.name) for c in calls] == [  # type: ignore[union-attr]
        (0, CALL.id, "get_weather"),
        (1, "call_2", "get_time"),
    ]
    assert parsed[-2].choices[0].finish_reason == "tool_calls"
    assert parsed[-1].usage is not None  # include_usage


async def test_legacy_functions_answer_with_function_call() -> None:
    answer = Answer(model="m", prompt="p", legacy_functions=True)
    out = await collect(answer, scripted([CALL, Finish(reason="tool_calls")]))
    message = out.choices[0].message
    assert out.choices[0].finish_reason == "function_call"
    assert message.function_call is not None and message.function_call.name == "get_weather"
    assert message.tool_calls is None
    data = await chunks(
        Answer(model="m", prompt="p", legacy_functions=True), [CALL, Finish(reason="tool_calls")]
    )
    assert any(c["choices"][0]["delta"].get("function_call") for c in data if c["choices"])


async def test_citations_become_url_citation_annotations() -> None:
    text = f"Echo: [[1]]({URL}) hello"
    events: list[Event] = [
        Sources((SearchSource(URL, "Result one"),)),
        TextDelta(text[:12]),
        TextDelta(text[12:]),
        Finish(),
    ]
    out = await collect(Answer(model="m", prompt="p"), scripted(events))
    parsed = ChatCompletion.model_validate(out.model_dump(mode="json"))
    (note,) = parsed.choices[0].message.annotations or []
    assert note.type == "url_citation"
    span = text[note.url_citation.start_index : note.url_citation.end_index]
    assert span == f"[[1]]({URL})"
    assert (note.url_citation.url, note.url_citation.title) == (URL, "Result one")
    data = await chunks(Answer(model="m", prompt="p"), events)
    finishing = [c for c in data if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finishing[0]["choices"][0]["delta"]["annotations"][0]["url_citation"]["url"] == URL


async def test_no_annotations_key_without_citations() -> None:
    out = await collect(Answer(model="m", prompt="p"), scripted([TextDelta("hi"), Finish()]))
    body = out.model_dump(mode="json")["choices"][0]["message"]
    assert "annotations" not in body and "tool_calls" not in body
    assert body["content"] == "hi"


async def test_length_finish() -> None:
    out = await collect(
        Answer(model="m", prompt="p"), scripted([TextDelta("a b"), Finish(reason="length")])
    )
    assert out.choices[0].finish_reason == "length"


async def test_reasoning_after_the_text_stays_reasoning_in_order() -> None:
    events: list[Event] = [
        ReasoningDelta("a"),
        TextDelta("b"),
        ReasoningDelta("c"),
        TextDelta("d"),
        Finish(),
    ]
    data = await chunks(Answer(model="m", prompt="p"), events)
    parsed = [ChatCompletionChunk.model_validate(c) for c in data]
    deltas = [(c.choices[0].delta.model_extra or {}, c.choices[0].delta) for c in parsed[1:-2]]
    assert [(extra.get("reasoning_content"), d.content) for extra, d in deltas] == [
        ("a", None),
        (None, "b"),
        ("c", None),
        (None, "d"),
    ]
    out = await collect(Answer(model="m", prompt="p"), scripted(events))
    message = ChatCompletion.model_validate(out.model_dump(mode="json")).choices[0].message
    assert message.content == "bd"
    assert (message.model_extra or {})["reasoning_content"] == "ac"
