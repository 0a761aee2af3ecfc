"""The simulator's answers to prompts that offer tools, against the gateway's real prompt text."""

from __future__ import annotations

import json

import pytest

from grokgate.core.messages import Message, flatten
from grokgate.core.tools.prompt import tool_prompt
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet, ToolSpec
from grokgate.core.tools.xml import parse_calls, render_calls
from grokgate.events import ToolCall
from grokgate.simulator.tool_answers import schema_arguments, tool_answer, tools_offered

WEATHER = ToolSpec(
    "get_weather",
    "Current weather",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "verbose": {"type": "boolean"},
        },
        "required": ["city", "days", "unit"],
    },
)
NOW = ToolSpec("now", "The time")
NAMES = frozenset({"get_weather", "now"})


AUTO = ToolChoice()


def _message(user: str, choice: ToolChoice = AUTO) -> str:
    tools = ToolSet((WEATHER, NOW), choice)
    messages = [Message("system", ["Be brief."]), Message("user", [user])]
    return flatten(messages, tool_prompt(tools))


def _calls(answer: str | None) -> list[tuple[str, dict[str, object]]]:
    assert answer is not None
    calls = parse_calls(answer, NAMES)
    assert calls is not None, answer
    return [(c.name, json.loads(c.arguments)) for c in calls]


def test_the_tool_block_is_read_from_the_prompt() -> None:
    offered = tools_offered(_message("hi", ToolChoice(Choice.REQUIRED)))
    assert offered is not None
    tools, choice = offered
    assert [t.name for t in tools] == ["get_weather", "now"]
    assert tools[0].schema == WEATHER.parameters
    assert choice == "required"


def test_messages_without_tools_get_none() -> None:
    assert tool_answer("[user]: call now") is None
    assert tool_answer(flatten([Message("user", ["call now"])])) is None
    assert tool_answer("[system]: Tool: now\n\n[user]: call now") is None  # no choice line


def test_auto_without_trigger_is_the_normal_answer() -> None:
    assert tool_answer(_message("hello")) is None


def test_a_trigger_with_json_arguments() -> None:
    answer = tool_answer(_message('please call get_weather {"city": "Paris", "days": 2}'))
    assert _calls(answer) == [("get_weather", {"city": "Paris", "days": 2})]


def test_arguments_from_the_schema_and_the_exact_format() -> None:
    answer = tool_answer(_message("call get_weather."))
    args = {"city": "sim", "days": 1, "unit": "celsius"}
    assert answer == render_calls([ToolCall("x", "get_weather", json.dumps(args))])


def test_several_triggers_in_order() -> None:
    answer = tool_answer(_message('call now and then call get_weather {"city": "Oslo"}\nok'))
    assert _calls(answer) == [("now", {}), ("get_weather", {"city": "Oslo"})]


def test_unknown_names_and_words_containing_call_are_not_triggers() -> None:
    assert tool_answer(_message("call nobody, recall now")) is None


def test_required_calls_the_first_tool() -> None:
    answer = tool_answer(_message("hello", ToolChoice(Choice.REQUIRED)))
    assert _calls(answer) == [("get_weather", {"city": "sim", "days": 1, "unit": "celsius"})]


def test_a_named_choice_calls_that_tool() -> None:
    assert _calls(tool_answer(_message("hello", ToolChoice(Choice.NAMED, "now")))) == [("now", {})]


def test_none_never_calls() -> None:
    assert tool_answer(_message("call now", ToolChoice(Choice.NONE))) is None


def test_a_tool_result_last_gets_a_plain_answer() -> None:
    call = ToolCall("call_abc", "now", "{}")
    history = (Message("user", ["call now"]), Message("assistant", tool_calls=[call]))
    tools = ToolSet((WEATHER, NOW))
    message = flatten(
        [*history, Message("tool", ["  12:00 UTC \n"], tool_call_id="call_abc")],
        tool_prompt(tools),
    )
    assert tool_answer(message) == "Tool result received: 12:00 UTC"
    no_id = flatten([*history, Message("tool", ["done"])], tool_prompt(tools))
    assert tool_answer(no_id) == "Tool result received: done"


def test_a_malformed_call_on_request() -> None:
    answer = tool_answer(_message("give me a malformed tool call"))
    assert answer is not None and "<parameters>{not json</parameters>" in answer
    assert parse_calls(answer, NAMES) is None


def test_thinking_out_loud_prefixes_the_block() -> None:
    answer = tool_answer(_message("think out loud and call now"))
    assert answer is not None and answer.startswith("Let me check that.\n<tool_calls>\n")
    assert _calls(answer[len("Let me check that.\n") :]) == [("now", {})]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, {}),
        ({"required": ["a"]}, {"a": "sim"}),
        (
            {
                "properties": {
                    "n": {"type": "number"},
                    "l": {"type": "array"},
                    "o": {"type": "object"},
                    "b": {"type": ["null", "boolean"]},
                },
                "required": ["n", "l", "o", "b"],
            },
            {"n": 1.5, "l": [], "o": {}, "b": True},
        ),
    ],
)
def test_schema_arguments(schema: dict[str, object], expected: dict[str, object]) -> None:
    assert schema_arguments(schema) == expected
