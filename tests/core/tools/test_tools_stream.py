"""sieve_events: the sieve over an event stream, and through ChatService."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import pytest

from grokgate.core.chat import ChatJob
from grokgate.core.tools.spec import ToolSet
from grokgate.core.tools.stream import sieve_events
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
from tests.core.chat_support import SERVED, SPEC, Harness
from tests.core.tools.sieve_support import NAMED_SEARCH, TOOLS, block
from tests.support import ScriptedEvents

PARIS = block([("get_weather", {"city": "Paris"})])


async def _run(events: Sequence[Event], tools: ToolSet = TOOLS) -> list[Event]:
    return [e async for e in sieve_events(ScriptedEvents(events).stream(), tools)]


def _chunks(text: str, size: int) -> list[Event]:
    return [TextDelta(text[i : i + size]) for i in range(0, len(text), size)]


async def test_plain_answers_and_other_events_pass_in_order() -> None:
    served = Served(account="a1", transport="fake")
    sources = Sources((SearchSource("https://example.com/1", "one"),))
    finish = Finish(fingerprint="fp", full_text="Hi there")
    events: list[Event] = [
        served,
        ReasoningDelta("hmm"),
        sources,
        TextDelta("Hi"),
        TextDelta(" there"),
        finish,
    ]
    assert await _run(events) == events


async def test_a_tool_call_answer_finishes_with_tool_calls() -> None:
    finish = Finish(fingerprint="fp", full_text=PARIS)
    out = await _run([Served("a1", "fake"), *_chunks(PARIS, 7), finish])
    assert out[0] == Served("a1", "fake")
    call = out[1]
    assert isinstance(call, ToolCall) and call.name == "get_weather"
    assert call.arguments == '{"city":"Paris"}'
    assert out[2:] == [Finish(reason="tool_calls", fingerprint="fp", full_text=PARIS)]


async def test_text_then_a_fenced_call() -> None:
    answer = "Let me check.\n```xml\n" + PARIS + "\n```"
    out = await _run([*_chunks(answer, 3), Finish()])
    text = "".join(e.text for e in out if isinstance(e, TextDelta))
    assert text == "Let me check.\n"
    assert [type(e) for e in out][-2:] == [ToolCall, Finish]
    assert out[-1] == Finish(reason="tool_calls")


async def test_held_text_comes_out_before_finish() -> None:
    out = await _run([TextDelta("a <"), TextDelta("b `"), Finish()])
    assert out == [TextDelta("a "), TextDelta("<b "), TextDelta("`"), Finish()]


async def test_an_unclosed_block_is_released_before_finish() -> None:
    out = await _run([TextDelta(PARIS[:-4]), Finish(reason="stop")])
    assert out == [TextDelta(PARIS[:-4]), Finish()]


async def test_a_stream_without_finish_is_flushed_and_ends() -> None:
    assert await _run([TextDelta("x <to")]) == [TextDelta("x "), TextDelta("<to")]


async def test_a_named_choice_degrades_calls_to_other_tools() -> None:
    out = await _run([TextDelta(PARIS), Finish()], NAMED_SEARCH)
    assert out == [TextDelta(PARIS), Finish()]


async def test_text_after_finish_is_dropped_once_tools_were_called() -> None:
    events: list[Event] = [TextDelta(PARIS), Finish(), TextDelta("late"), Sources(())]
    out = await _run(events)
    assert [type(e) for e in out] == [ToolCall, Finish, Sources]


async def test_closing_early_closes_the_source() -> None:
    source = ScriptedEvents([TextDelta("a"), TextDelta("b"), TextDelta("c"), Finish()])
    async with aclosing(sieve_events(source.stream(), TOOLS)) as stream:
        async for _ in stream:
            break
    assert source.closed and source.sent == 1


async def test_errors_of_the_source_propagate() -> None:
    async def failing() -> AsyncIterator[Event]:
        yield TextDelta("a")
        raise RuntimeError("boom")

    seen: list[Event] = []
    with pytest.raises(RuntimeError, match="boom"):
        async for event in sieve_events(failing(), TOOLS):
            seen.append(event)
    assert seen == [TextDelta("a")]


async def test_chat_service_runs_the_sieve_when_tools_may_be_called(
    chat_harness: Harness,
) -> None:
    h = chat_harness
    [a] = await h.add(1)
    h.script(a, SERVED, *_chunks("Sure.\n" + PARIS, 5), Finish())
    job = ChatJob(SPEC, "[user]: weather?", tools=TOOLS)
    events = [e async for e in h.service().stream(job)]
    assert events[0] == Served(account=a, transport="fake", attempts=1)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Sure.\n"
    assert [e.name for e in events if isinstance(e, ToolCall)] == ["get_weather"]
    assert events[-1] == Finish(reason="tool_calls")
    assert h.pool.successes == [a]
    await h.assert_idle()
