"""Function calling over the Responses API with the official openai SDK (agent loops).

These need the simulator's tool answers (``grokgate.simulator.tool_answers``) and the tool sieve
(``grokgate.core.tools.stream``) that turns the ``<tool_calls>`` block into ToolCall events.
"""

from __future__ import annotations

import json
from typing import Any

from openai.types.responses import Response, ResponseFunctionToolCall

from tests.sdk import openai_client as client
from tests.support import Sim

FAST = "grok-4.20-0309-non-reasoning"
REASONING = "grok-4.20-0309"
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME: Any = {
    "type": "function",
    "name": "get_time",
    "description": "The time",
    "parameters": {"type": "object", "properties": {}},
    "strict": False,
}
ASK = 'call get_weather {"city": "Paris"}'


def calls(out: Response) -> list[ResponseFunctionToolCall]:
    return [o for o in out.output if o.type == "function_call"]


def as_input(call: ResponseFunctionToolCall) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": call.call_id,
        "name": call.name,
        "arguments": call.arguments,
    }


def result(call: ResponseFunctionToolCall, output: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call.call_id, "output": output}


def test_two_step_function_call_loop(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    history: list[Any] = [{"role": "user", "content": ASK}]
    first = c.responses.create(model=FAST, input=history, tools=[WEATHER])
    assert first.status == "completed"
    [call] = calls(first)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.id is not None and call.id.startswith("fc_")
    assert call.call_id and call.status == "completed"
    assert first.output_text == ""
    assert first.usage is not None and first.usage.output_tokens > 0
    assert "Tool: get_weather" in sim.state.chat_requests()[-1].body["message"]
    history += [as_input(call), result(call, "18C and sunny")]
    second = c.responses.create(model=FAST, input=history, tools=[WEATHER])
    assert second.output_text == "Tool result received: 18C and sunny"
    assert calls(second) == []
    sent = sim.state.chat_requests()[-1].body["message"]
    assert "<tool_name>get_weather</tool_name>" in sent
    assert f"[tool result for {call.call_id}]:\n18C and sunny" in sent


def test_streamed_function_call_events(gateway: str) -> None:
    events = list(
        client(gateway).responses.create(model=REASONING, input=ASK, tools=[WEATHER], stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    added = [
        e
        for e in events
        if e.type == "response.output_item.added" and e.item.type == "function_call"
    ]
    assert len(added) == 1 and added[0].item.arguments == ""  # type: ignore[union-attr]
    item_id = added[0].item.id  # type: ignore[union-attr]
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    [done] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert all(d.item_id == item_id for d in deltas) and done.item_id == item_id
    assert json.loads("".join(d.delta for d in deltas)) == {"city": "Paris"}
    assert json.loads(done.arguments) == {"city": "Paris"}
    final = events[-1].response  # type: ignore[union-attr]
    assert [o.type for o in final.output][-1] == "function_call"
    assert "<tool_calls>" not in final.output_text


def test_stream_helper_parses_strict_arguments(gateway: str) -> None:
    c = client(gateway)
    with c.responses.stream(model=FAST, input=ASK, tools=[WEATHER]) as stream:
        final = stream.get_final_response()
    [call] = [o for o in final.output if o.type == "function_call"]
    assert call.parsed_arguments == {"city": "Paris"}  # type: ignore[union-attr]
    history = [{"role": "user", "content": ASK}, as_input(call), result(call, "rainy")]
    with c.responses.stream(model=FAST, input=history, tools=[WEATHER]) as stream:
        answer = stream.get_final_response()
    assert answer.output_text == "Tool result received: rainy"


def test_tool_choice_required_calls_a_tool_without_being_asked(gateway: str) -> None:
    out = client(gateway).responses.create(
        model=FAST, input="what is the weather", tools=[WEATHER, TIME], tool_choice="required"
    )
    [call] = calls(out)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "sim"}
    assert out.tool_choice == "required"


def test_named_tool_choice(gateway: str, sim: Sim) -> None:
    out = client(gateway).responses.create(
        model=FAST,
        input="what time is it",
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "name": "get_time"},
    )
    [call] = calls(out)
    assert call.name == "get_time" and json.loads(call.arguments) == {}
    assert "tool_choice: get_time." in sim.state.chat_requests()[-1].body["message"]


def test_tool_choice_none_answers_in_text(gateway: str) -> None:
    out = client(gateway).responses.create(
        model=FAST, input=ASK, tools=[WEATHER], tool_choice="none"
    )
    assert calls(out) == [] and out.output_text.startswith("Echo: ")


def test_several_calls_in_one_answer_and_their_results(gateway: str) -> None:
    c = client(gateway)
    ask = 'call get_weather {"city": "Rome"} and then call get_time'
    first = c.responses.create(model=FAST, input=ask, tools=[WEATHER, TIME])
    weather, time_call = calls(first)
    assert (weather.name, time_call.name) == ("get_weather", "get_time")
    assert weather.call_id != time_call.call_id
    indices = [first.output.index(weather), first.output.index(time_call)]
    assert indices[1] == indices[0] + 1
    history = [
        {"role": "user", "content": ask},
        as_input(weather),
        as_input(time_call),
        result(weather, "25C"),
        result(time_call, "noon"),
    ]
    second = c.responses.create(model=FAST, input=history, tools=[WEATHER, TIME])
    assert second.output_text == "Tool result received: noon"


def test_text_before_the_call_is_its_own_message(gateway: str) -> None:
    out = client(gateway).responses.create(
        model=FAST, input=f"think out loud and {ASK}", tools=[WEATHER]
    )
    kinds = [o.type for o in out.output]
    assert kinds == ["message", "function_call"]
    assert out.output_text.strip() == "Let me check that."


def test_two_step_loop_streamed_with_the_stream_helper(gateway: str) -> None:
    c = client(gateway)
    history: list[Any] = [{"role": "user", "content": ASK}]
    with c.responses.stream(model=FAST, input=history, tools=[WEATHER]) as stream:
        first = stream.get_final_response()
    [call] = calls(first)
    assert json.loads(call.arguments) == {"city": "Paris"}
    history += [as_input(call), result(call, "rain")]
    with c.responses.stream(model=FAST, input=history, tools=[WEATHER]) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        second = stream.get_final_response()
    assert text == second.output_text == "Tool result received: rain"
    assert second.status == "completed" and calls(second) == []
