"""limit_output: the client's output-token limit cuts the visible answer (finish ``length``)."""

from __future__ import annotations

from grokgate.core.limits import limit_output
from grokgate.core.usage import count_tokens, truncate_tokens
from grokgate.events import Event, Finish, ReasoningDelta, TextDelta, ToolCall
from tests.support import ScriptedEvents


async def run(events: list[Event], limit: int) -> tuple[list[Event], ScriptedEvents]:
    source = ScriptedEvents(events)
    return [e async for e in limit_output(source.stream(), limit)], source


async def test_under_the_limit_nothing_changes() -> None:
    events: list[Event] = [ReasoningDelta("long " * 50), TextDelta("one two"), Finish()]
    out, _ = await run(events, 10)
    assert out == events  # reasoning is not counted


async def test_the_limit_cuts_inside_a_delta_and_closes_the_source() -> None:
    text = "alpha beta gamma delta epsilon"
    out, source = await run([TextDelta("x"), TextDelta(text), TextDelta("more"), Finish()], 3)
    assert out[0] == TextDelta("x")
    assert out[-1] == Finish(reason="length")
    shown = "".join(e.text for e in out if isinstance(e, TextDelta))
    assert count_tokens(shown) == 3 and text.startswith(shown[1:])
    assert source.closed and source.sent == 2  # "more" was never pulled


async def test_tool_calls_pass_and_are_not_counted() -> None:
    call = ToolCall("call_1", "f", '{"a": "' + "x" * 200 + '"}')
    out, _ = await run([call, Finish(reason="tool_calls")], 1)
    assert out == [call, Finish(reason="tool_calls")]


def test_truncate_tokens() -> None:
    assert truncate_tokens("hello world again", 0) == ""
    assert truncate_tokens("hi", 5) == "hi"
    assert count_tokens(truncate_tokens("one two three four", 2)) == 2
