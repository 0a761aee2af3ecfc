"""The simulator's ``one at a time`` tool loop: one call per turn, then every result at once."""

from __future__ import annotations

from grokgate.core.messages import Message, flatten
from grokgate.core.tools.prompt import tool_prompt
from grokgate.core.tools.spec import ToolSet, ToolSpec
from grokgate.core.tools.xml import parse_calls
from grokgate.events import ToolCall
from grokgate.simulator.tool_answers import tool_answer

WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {}})
NOW = ToolSpec("now", "The time")
TOOLS = ToolSet((WEATHER, NOW))
ASK = 'one at a time: call get_weather {"city": "Oslo"} and call now'


def _names(answer: str | None) -> list[str]:
    assert answer is not None
    calls = parse_calls(answer, frozenset({"get_weather", "now"}))
    assert calls is not None, answer
    return [c.name for c in calls]


def test_calls_come_one_per_turn_and_the_answer_holds_every_result() -> None:
    history = [Message("user", [ASK])]
    assert _names(tool_answer(flatten(history, tool_prompt(TOOLS)))) == ["get_weather"]
    history += [
        Message("assistant", tool_calls=[ToolCall("call_1", "get_weather", "{}")]),
        Message("tool", ["rain"], tool_call_id="call_1"),
    ]
    assert _names(tool_answer(flatten(history, tool_prompt(TOOLS)))) == ["now"]
    history += [
        Message("assistant", tool_calls=[ToolCall("call_2", "now", "{}")]),
        Message("tool", ["noon"], tool_call_id="call_2"),
    ]
    final = tool_answer(flatten(history, tool_prompt(TOOLS)))
    assert final == "Tool result received: rain; noon"


def test_a_bare_tool_result_gets_no_next_call() -> None:
    bare = flatten([Message("tool", ["rain"], tool_call_id="call_1")], tool_prompt(TOOLS))
    assert tool_answer(bare) == "Tool result received: rain"
