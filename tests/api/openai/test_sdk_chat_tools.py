"""Tool calling through Chat Completions with the official openai SDK (live gateway → simulator).

The simulator answers with ``<tool_calls>`` XML when the prompt carries the tool block and the
user says ``call <tool>`` (or tool_choice forces a call); the gateway's sieve must turn that into
``tool_calls`` and never show XML.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.sdk import openai_client as client
from tests.support import Sim

MODEL = "grok-4.20-0309-non-reasoning"
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
ASK = {"role": "user", "content": 'What is the weather? call get_weather {"city": "Paris"}'}


def stream_answer(base: str, **kwargs: Any) -> tuple[str, dict[int, dict[str, str]], str | None]:
    """Content, tool calls by index (id/name/arguments joined) and the finish reason."""
    text, calls, finish = "", {}, None
    for chunk in client(base).chat.completions.create(model=MODEL, stream=True, **kwargs):
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for call in choice.delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            entry["name"] += (call.function.name or "") if call.function else ""
            entry["arguments"] += (call.function.arguments or "") if call.function else ""
        finish = choice.finish_reason or finish
    return text, calls, finish


@pytest.mark.parametrize("choice", [None, "auto"])
def test_two_step_tool_loop(gateway: str, sim: Sim, choice: str | None) -> None:
    c = client(gateway)
    extra = {"tool_choice": choice} if choice else {}
    first = c.chat.completions.create(model=MODEL, messages=[ASK], tools=[WEATHER], **extra)
    out = first.choices[0]
    assert out.finish_reason == "tool_calls"
    (call,) = out.message.tool_calls or []
    assert call.id.startswith("call_") and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert not out.message.content
    prompt = sim.state.chat_requests()[-1].body["message"]
    assert "Tool: get_weather" in prompt
    second = c.chat.completions.create(
        model=MODEL,
        tools=[WEATHER],
        messages=[
            ASK,
            out.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
        ],
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Tool result received: sunny, 21 C"
    replayed = sim.state.chat_requests()[-1].body["message"]
    assert f"[tool result for {call.id}]:\nsunny, 21 C" in replayed
    assert '<parameters>{"city":"Paris"}</parameters>' in replayed


def test_streamed_tool_call_never_shows_xml(gateway: str) -> None:
    text, calls, finish = stream_answer(gateway, messages=[ASK], tools=[WEATHER])
    assert finish == "tool_calls"
    assert text == ""
    assert [c["name"] for c in calls.values()] == ["get_weather"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}


def test_text_before_a_call_is_kept_and_the_xml_hidden(gateway: str) -> None:
    ask = {"role": "user", "content": "think out loud and call get_time"}
    text, calls, finish = stream_answer(gateway, messages=[ask], tools=[WEATHER, TIME])
    assert finish == "tool_calls"
    assert text.strip() == "Let me check that."
    assert [c["name"] for c in calls.values()] == ["get_time"]


@pytest.mark.parametrize("stream", [False, True])
def test_tool_choice_required_forces_a_call(gateway: str, stream: bool) -> None:
    ask = [{"role": "user", "content": "Hello"}]
    if stream:
        _, calls, finish = stream_answer(
            gateway, messages=ask, tools=[WEATHER], tool_choice="required"
        )
        name, args = calls[0]["name"], calls[0]["arguments"]
    else:
        out = client(gateway).chat.completions.create(
            model=MODEL, messages=ask, tools=[WEATHER], tool_choice="required"
        )
        finish = out.choices[0].finish_reason
        (call,) = out.choices[0].message.tool_calls or []
        name, args = call.function.name, call.function.arguments  # type: ignore[union-attr]
    assert finish == "tool_calls" and name == "get_weather"
    assert isinstance(json.loads(args)["city"], str)


@pytest.mark.parametrize("stream", [False, True])
def test_named_tool_choice_calls_that_tool(gateway: str, stream: bool) -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    ask = [{"role": "user", "content": "Hello"}]
    if stream:
        _, calls, finish = stream_answer(
            gateway, messages=ask, tools=[WEATHER, TIME], tool_choice=named
        )
        names = [c["name"] for c in calls.values()]
    else:
        out = client(gateway).chat.completions.create(
            model=MODEL, messages=ask, tools=[WEATHER, TIME], tool_choice=named
        )
        finish = out.choices[0].finish_reason
        names = [c.function.name for c in out.choices[0].message.tool_calls or []]  # type: ignore[union-attr]
    assert finish == "tool_calls" and names == ["get_time"]


def test_tool_choice_none_answers_in_text(gateway: str, sim: Sim) -> None:
    out = client(gateway).chat.completions.create(
        model=MODEL, messages=[ASK], tools=[WEATHER], tool_choice="none"
    )
    assert out.choices[0].finish_reason == "stop"
    assert out.choices[0].message.tool_calls is None
    assert out.choices[0].message.content


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_tool_xml_degrades_to_text(gateway: str, stream: bool) -> None:
    ask = [{"role": "user", "content": "please produce a malformed tool call"}]
    if stream:
        text, calls, finish = stream_answer(gateway, messages=ask, tools=[WEATHER])
    else:
        out = client(gateway).chat.completions.create(model=MODEL, messages=ask, tools=[WEATHER])
        text = out.choices[0].message.content or ""
        calls, finish = {}, out.choices[0].finish_reason
    assert finish == "stop" and calls == {}
    assert "<tool_calls>" in text  # shown as the model wrote it, not a 500


def test_unknown_tool_choice_name_is_a_400(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).chat.completions.create(
            model=MODEL,
            messages=[ASK],
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert info.value.body["param"] == "tool_choice"  # type: ignore[index]
