"""The tool instruction block: every tool described, the format, the tool_choice line."""

from __future__ import annotations

import json

import pytest

from grokgate.core.tools.prompt import FORMAT, HEADER, tool_prompt
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet, ToolSpec

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
NOW = ToolSpec("now")  # no description, no schema


def test_each_tool_is_described_with_its_schema() -> None:
    text = tool_prompt(ToolSet((WEATHER, NOW)))
    assert text.startswith(HEADER)
    lines = text.splitlines()
    assert "Tool: get_weather" in lines
    assert "Description: Current weather for a city" in lines
    assert f"Parameters: {json.dumps(WEATHER.parameters, separators=(',', ':'))}" in lines
    assert "Tool: now" in lines
    assert 'Parameters: {"type":"object","properties":{}}' in lines
    assert FORMAT in text


@pytest.mark.parametrize(
    ("choice", "line"),
    [
        (ToolChoice(), "tool_choice: auto."),
        (ToolChoice(Choice.NONE), "tool_choice: none."),
        (ToolChoice(Choice.REQUIRED), "tool_choice: required."),
        (ToolChoice(Choice.NAMED, "now"), "tool_choice: now. You MUST answer"),
    ],
)
def test_the_choice_line_ends_the_block(choice: ToolChoice, line: str) -> None:
    last = tool_prompt(ToolSet((WEATHER, NOW), choice)).splitlines()[-1]
    assert last.startswith(line)
    if choice.kind is Choice.NAMED:
        assert "the tool now" in last and "no other tool" in last
