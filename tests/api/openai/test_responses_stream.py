"""The Responses SSE driver: event names, failures mid-stream, and the SDK's own accumulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseErrorEvent

from grokgate.api.openai.responses_render import collect, stream_events
from grokgate.errors import GrokGateError, UpstreamRateLimitError, UpstreamStreamError
from grokgate.events import Event, Finish, ReasoningDelta, TextDelta, ToolCall
from tests.api.openai.responses_support import SDK_EVENT, builder, script, types

CALLS = [ToolCall("call_1", "get_weather", '{"city":"Paris"}'), ToolCall("call_2", "noop", "{}")]


async def sse(events: list[Event], error: BaseException | None = None) -> list[dict[str, Any]]:
    """What the client receives, checking that every SSE ``event:`` names its data's type."""
    out: list[dict[str, Any]] = []
    async for message in stream_events(builder(), script(events, error)):
        data = json.loads(message.data)
        assert message.event == data["type"]
        SDK_EVENT.validate_python(data)
        out.append(data)
    assert [d["sequence_number"] for d in out] == list(range(len(out)))
    return out


async def test_a_finished_stream_ends_with_completed() -> None:
    wire = await sse([ReasoningDelta("r"), TextDelta("t"), Finish()])
    assert types(wire)[0] == "created" and types(wire)[-1] == "completed"
    assert "error" not in types(wire)


async def test_error_after_text_ends_with_failed_then_error() -> None:
    error = UpstreamStreamError("the upstream connection dropped")
    wire = await sse([ReasoningDelta("r"), TextDelta("partial")], error)
    assert types(wire)[-3:] == ["output_text.delta", "failed", "error"]
    failed = Response.model_validate(wire[-2]["response"])
    assert failed.status == "failed" and failed.usage is None
    assert failed.error is not None and failed.error.code == "server_error"
    assert failed.error.message == "the upstream connection dropped"
    assert failed.error.type == "server_error"
    reasoning, message = failed.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "r"  # type: ignore[union-attr]
    assert message.type == "message" and message.status == "incomplete"
    assert failed.output_text == "partial"
    event = wire[-1]
    assert ResponseErrorEvent.model_validate(event).code == "upstream_stream_error"
    assert event["message"] == "the upstream connection dropped" and event["param"] is None
    # the nested OpenAI error object is what the openai SDK raises APIError on
    assert event["error"] == {
        "message": "the upstream connection dropped",
        "type": "server_error",
        "param": None,
        "code": "upstream_stream_error",
    }


async def test_rate_limit_mid_stream_has_the_sdk_code() -> None:
    wire = await sse([TextDelta("t")], UpstreamRateLimitError("slow down", retry_after=5))
    failed = Response.model_validate(wire[-2]["response"])
    assert failed.error is not None and failed.error.code == "rate_limit_exceeded"
    assert wire[-1]["error"]["type"] == "rate_limit_error"


async def test_error_before_any_output_still_fails_cleanly() -> None:
    wire = await sse([], UpstreamStreamError("boom"))
    assert types(wire) == ["created", "in_progress", "failed", "error"]
    assert wire[-2]["response"]["output"] == []


async def test_a_bug_is_an_internal_error_event() -> None:
    wire = await sse([TextDelta("t")], RuntimeError("secret details"))
    assert types(wire)[-2:] == ["failed", "error"]
    assert wire[-1]["error"]["code"] == "internal_error"
    assert "secret" not in json.dumps(wire[-2:])


async def test_a_stream_without_finish_is_an_error() -> None:
    wire = await sse([TextDelta("t")])
    assert types(wire)[-2:] == ["failed", "error"]
    assert "without finishing" in wire[-1]["message"]


async def test_collect_raises_instead_of_returning_a_partial_answer() -> None:
    with pytest.raises(UpstreamStreamError, match="without finishing"):
        await collect(builder(), script([TextDelta("t")]))
    with pytest.raises(GrokGateError, match="boom"):
        await collect(builder(), script([TextDelta("t")], UpstreamStreamError("boom")))


async def test_the_sdk_accumulator_accepts_the_stream() -> None:
    """The openai SDK's own ``responses.stream()`` state machine (order, indices, identities)."""
    wire = await sse([ReasoningDelta("hmm"), TextDelta("Let me check."), *CALLS, Finish()])
    tools: Any = [
        {"type": "function", "name": "get_weather", "parameters": {}, "strict": True},
        {"type": "function", "name": "noop", "parameters": {}, "strict": True},
    ]
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=tools, text_format=omit)
    for data in wire:
        state.handle_event(SDK_EVENT.validate_python(data))
    final = state._completed_response
    assert final is not None and final.output_text == "Let me check."
    calls = [o for o in final.output if o.type == "function_call"]
    assert [c.parsed_arguments for c in calls] == [{"city": "Paris"}, {}]  # type: ignore[union-attr]
    hex_ = final.id.removeprefix("resp_")
    assert [c.call_id for c in calls] == [f"call_{hex_}_2", f"call_{hex_}_3"]  # after the text
