"""Responses request → ChatJob: flat function tools, web search tools and every tool_choice."""

from __future__ import annotations

from typing import Any

import pytest

from grokgate.api.openai.responses_schemas import FunctionToolOut, ResponsesRequest
from grokgate.api.openai.responses_translate import ResponsesPlan, to_plan
from grokgate.core.registry import resolve
from grokgate.core.tools.spec import Choice
from grokgate.errors import InvalidRequestError


def _to_plan(body: ResponsesRequest, **options: Any) -> Any:
    """The route's two steps: resolve the model, then translate."""
    return to_plan(body, resolve(body.model), **options)


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}
TIME = {"type": "function", "name": "get_time", "parameters": None, "strict": None}


def plan(**body: Any) -> ResponsesPlan:
    body.setdefault("model", "grok-4.20-0309")
    body.setdefault("input", "hi")
    return _to_plan(ResponsesRequest.model_validate(body), show_reasoning=True)


def bad(param: str | None, **body: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        plan(**body)
    assert info.value.param == param, info.value.message
    return info.value


def test_function_tools_become_a_toolset_and_the_prompt_block() -> None:
    p = plan(tools=[WEATHER, TIME])
    tools = p.job.tools
    assert tools is not None and tools.choice.kind is Choice.AUTO
    assert [t.name for t in tools.tools] == ["get_weather", "get_time"]
    assert tools.tools[0].description == "Current weather"
    assert tools.tools[0].parameters["properties"]["city"] == {"type": "string"}
    assert tools.tools[1].parameters == {}
    assert p.job.prompt.startswith("[system]: ") and "Tool: get_weather" in p.job.prompt
    assert p.job.prompt.endswith("[user]: hi")
    assert p.echo.tools == [
        FunctionToolOut(
            name="get_weather",
            description="Current weather",
            parameters=WEATHER["parameters"],  # type: ignore[arg-type]
            strict=True,
        ),
        FunctionToolOut(name="get_time"),
    ]


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "web_search_preview", "search_context_size": "low"},
        {"type": "web_search_2025_08_26"},
        {"type": "web_search_preview_2025_03_11"},
    ],
)
def test_web_search_tools_are_accepted_and_ignored(tool: dict[str, Any]) -> None:
    p = plan(tools=[tool])
    assert p.job.tools is None
    assert p.job.prompt == "[user]: hi"
    assert p.echo.tools == [tool]


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([WEATHER, {"type": "file_search", "vector_store_ids": ["v"]}], "tools[1].type"),
        ([{"type": "mcp", "server_label": "x"}], "tools[0].type"),
        ([{"name": "no_type"}], "tools[0].type"),
        (["get_weather"], "tools[0].type"),
        ([{"type": "function", "parameters": {}}], "tools[0].name"),
        ([{"type": "function", "name": "f", "parameters": "schema"}], "tools[0].parameters"),
        ([{"type": "function", "name": "bad name!"}], "tools[0].name"),
        ([{"type": "web_search"}, {"type": "function", "name": "bad name!"}], "tools[1].name"),
        ([WEATHER, WEATHER], "tools"),
        ({"type": "function"}, "tools"),
    ],
)
def test_bad_tools_name_their_param(tools: object, param: str) -> None:
    bad(param, tools=tools)


@pytest.mark.parametrize(
    ("choice", "kind", "name"),
    [
        (None, Choice.AUTO, None),
        ("auto", Choice.AUTO, None),
        ("none", Choice.NONE, None),
        ("required", Choice.REQUIRED, None),
        ({"type": "function", "name": "get_time"}, Choice.NAMED, "get_time"),
        (
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "x"}]},
            Choice.AUTO,
            None,
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "get_weather"}],
            },
            Choice.NAMED,
            "get_weather",
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [
                    {"type": "function", "name": "get_weather"},
                    {"type": "function", "name": "get_time"},
                ],
            },
            Choice.REQUIRED,
            None,
        ),
        ({"type": "web_search_preview"}, Choice.AUTO, None),
    ],
)
def test_tool_choice(choice: object, kind: Choice, name: str | None) -> None:
    p = plan(tools=[WEATHER, TIME], tool_choice=choice)
    assert p.job.tools is not None
    assert (p.job.tools.choice.kind, p.job.tools.choice.name) == (kind, name)
    assert p.echo.tool_choice == (choice if choice is not None else "auto")


def test_tool_choice_none_keeps_tools_described_but_disallows_calls() -> None:
    tools = plan(tools=[WEATHER], tool_choice="none").job.tools
    assert tools is not None and not tools.calls_allowed


@pytest.mark.parametrize(
    ("choice", "tools"),
    [
        ("always", [WEATHER]),
        ({"type": "function"}, [WEATHER]),
        ({"type": "file_search"}, [WEATHER]),
        ({"type": "allowed_tools", "mode": "sometimes", "tools": []}, [WEATHER]),
        (42, [WEATHER]),
        ({"type": "function", "name": "not_a_tool"}, [WEATHER]),
        ("required", None),
        ({"type": "function", "name": "get_weather"}, None),
    ],
)
def test_bad_tool_choice_is_400(choice: object, tools: object) -> None:
    bad("tool_choice", tool_choice=choice, tools=tools)
