"""Scripted internal events → the exact Responses stream events and the response object."""

from __future__ import annotations

import json

from openai.types.responses import Response

from grokgate.api.openai.responses_render import collect
from grokgate.api.openai.responses_schemas import EchoedRequest, FunctionToolOut
from grokgate.core.usage import estimate_usage
from grokgate.events import (
    Finish,
    ReasoningDelta,
    SearchSource,
    Served,
    Sources,
    TextDelta,
    ToolCall,
)
from tests.api.openai.responses_support import PROMPT, builder, run, script, types

SERVED = Served(account="acct", transport="grok_web")
URL1, URL2 = "https://example.com/1", "https://example.com/2"


def test_reasoning_then_text() -> None:
    wire = run(
        [
            SERVED,
            ReasoningDelta("Thinking "),
            ReasoningDelta("hard."),
            TextDelta("Hello"),
            TextDelta(""),  # empty deltas are dropped
            TextDelta(" world"),
            Finish("stop"),
        ]
    )
    assert types(wire) == [
        "created",
        "in_progress",
        "output_item.added",
        "reasoning_summary_part.added",
        "reasoning_summary_text.delta",
        "reasoning_summary_text.delta",
        "reasoning_summary_text.done",
        "reasoning_summary_part.done",
        "output_item.done",
        "output_item.added",
        "content_part.added",
        "output_text.delta",
        "output_text.delta",
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "completed",
    ]
    created, in_progress = wire[0]["response"], wire[1]["response"]
    assert created["status"] == in_progress["status"] == "in_progress"
    assert created["output"] == [] and created["usage"] is None
    rs, msg = wire[2]["item"], wire[9]["item"]
    assert rs == {"type": "reasoning", "id": rs["id"], "summary": []}
    assert rs["id"].startswith("rs_") and msg["id"].startswith("msg_")
    assert msg == {
        "type": "message",
        "id": msg["id"],
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    for event in wire[3:8]:
        assert (event["item_id"], event["output_index"], event["summary_index"]) == (rs["id"], 0, 0)
    for event in wire[10:15]:
        assert (event["item_id"], event["output_index"], event["content_index"]) == (
            msg["id"],
            1,
            0,
        )
    assert wire[3]["part"] == {"type": "summary_text", "text": ""}
    assert wire[6]["text"] == "Thinking hard."
    assert wire[7]["part"] == {"type": "summary_text", "text": "Thinking hard."}
    assert wire[8]["item"]["summary"] == [{"type": "summary_text", "text": "Thinking hard."}]
    assert wire[10]["part"] == {
        "type": "output_text",
        "text": "",
        "annotations": [],
        "logprobs": [],
    }
    assert [e["delta"] for e in wire[11:13]] == ["Hello", " world"]
    assert all(e["logprobs"] == [] for e in wire[11:14])
    assert wire[13]["text"] == "Hello world"
    assert wire[14]["part"]["text"] == "Hello world"
    assert wire[15]["item"]["status"] == "completed"
    final = Response.model_validate(wire[-1]["response"])
    assert final.status == "completed" and final.output_text == "Hello world"
    assert final.id.startswith("resp_") and final.completed_at is not None
    assert [o.id for o in final.output] == [rs["id"], msg["id"]]
    u = estimate_usage(PROMPT, "Hello world", "Thinking hard.")
    assert final.usage is not None
    assert final.usage.input_tokens == u.prompt_tokens
    assert final.usage.output_tokens == u.completion_tokens
    assert final.usage.output_tokens_details.reasoning_tokens == u.reasoning_tokens > 0
    assert final.usage.total_tokens == u.total_tokens


def test_citations_are_annotated_after_the_text() -> None:
    text = f"See [[1]]({URL1}) and [[2]]({URL2})."
    wire = run(
        [
            Sources((SearchSource(URL1, "First"), SearchSource(URL2, ""))),
            Sources((SearchSource(URL1, "Later title"),)),
            TextDelta(text[:12]),
            TextDelta(text[12:]),
            Finish(),
        ]
    )
    assert types(wire)[2:] == [
        "output_item.added",
        "content_part.added",
        "output_text.delta",
        "output_text.delta",
        "output_text.annotation.added",
        "output_text.annotation.added",
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "completed",
    ]
    first, second = wire[6], wire[7]
    assert (first["annotation_index"], second["annotation_index"]) == (0, 1)
    assert first["annotation"] == {
        "type": "url_citation",
        "start_index": 4,
        "end_index": 4 + len(f"[[1]]({URL1})"),
        "url": URL1,
        "title": "First",
    }
    assert second["annotation"]["title"] == URL2  # no title: the URL stands in
    a = first["annotation"]
    assert text[a["start_index"] : a["end_index"]] == f"[[1]]({URL1})"
    final = Response.model_validate(wire[-1]["response"])
    annotations = final.output[0].content[0].annotations  # type: ignore[union-attr]
    assert [x.to_dict() for x in annotations] == [first["annotation"], second["annotation"]]


def test_function_calls() -> None:
    calls = [
        ToolCall("call_a1", "get_weather", '{"city":"Paris"}'),
        ToolCall("call_b2", "get_time", ""),
    ]
    echo = EchoedRequest(
        tools=[FunctionToolOut(name="get_weather"), FunctionToolOut(name="get_time")]
    )
    wire = run([ReasoningDelta("hmm"), *calls, Finish("tool_calls")], echo)
    assert types(wire)[5:] == [
        "reasoning_summary_text.done",
        "reasoning_summary_part.done",
        "output_item.done",
        "output_item.added",
        "function_call_arguments.delta",
        "function_call_arguments.done",
        "output_item.done",
        "output_item.added",
        "function_call_arguments.delta",
        "function_call_arguments.done",
        "output_item.done",
        "completed",
    ]
    added, delta, done, item_done = wire[8:12]
    fc = added["item"]
    hex_ = wire[-1]["response"]["id"].removeprefix("resp_")
    assert fc == {  # call ids are the response's own (docs/stored-responses.md)
        "type": "function_call",
        "id": f"fc_{hex_}_1",
        "call_id": f"call_{hex_}_1",
        "name": "get_weather",
        "arguments": "",
        "status": "in_progress",
    }
    assert fc["id"].startswith("fc_") and added["output_index"] == 1
    assert (delta["item_id"], delta["output_index"]) == (fc["id"], 1)
    assert delta["delta"] == '{"city":"Paris"}'
    assert (done["item_id"], done["arguments"]) == (fc["id"], '{"city":"Paris"}')
    assert item_done["item"] == {**fc, "arguments": '{"city":"Paris"}', "status": "completed"}
    assert wire[12]["output_index"] == 2 and wire[12]["item"]["call_id"] == f"call_{hex_}_2"
    assert wire[14]["arguments"] == "{}"  # no arguments: an empty object
    final = Response.model_validate(wire[-1]["response"])
    assert final.status == "completed" and final.output_text == ""
    assert [o.type for o in final.output] == ["reasoning", "function_call", "function_call"]
    sent = [{"name": "get_weather", "arguments": '{"city":"Paris"}'}]
    calls_json = json.dumps([*sent, {"name": "get_time", "arguments": "{}"}])
    assert final.usage is not None
    assert final.usage.output_tokens == estimate_usage(PROMPT, calls_json, "hmm").completion_tokens
    assert [t.name for t in final.tools] == ["get_weather", "get_time"]  # type: ignore[union-attr]


def test_text_before_a_call_is_closed_first() -> None:
    wire = run([TextDelta("Checking."), ToolCall("call_1", "f", "{}"), Finish("tool_calls")])
    assert types(wire)[2:] == [
        "output_item.added",
        "content_part.added",
        "output_text.delta",
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "output_item.added",
        "function_call_arguments.delta",
        "function_call_arguments.done",
        "output_item.done",
        "completed",
    ]
    assert [e["output_index"] for e in wire if e["type"].startswith("response.output_item")] == [
        0,
        0,
        1,
        1,
    ]


def test_interleaved_reasoning_and_text_give_separate_items() -> None:
    wire = run([ReasoningDelta("a"), TextDelta("b"), ReasoningDelta("c"), TextDelta("d"), Finish()])
    added = [e for e in wire if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "reasoning"),
        (1, "message"),
        (2, "reasoning"),
        (3, "message"),
    ]
    final = Response.model_validate(wire[-1]["response"])
    assert final.output_text == "bd"
    assert len({o.id for o in final.output}) == 4


def test_length_finish_is_incomplete() -> None:
    wire = run([TextDelta("cut"), Finish("length")])
    assert types(wire)[-1] == "incomplete"
    assert wire[-2]["item"]["status"] == "incomplete"
    final = Response.model_validate(wire[-1]["response"])
    assert final.status == "incomplete" and final.completed_at is None
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"
    assert final.usage is not None and final.usage.output_tokens > 0


def test_an_empty_answer_is_an_empty_message() -> None:
    wire = run([SERVED, Finish()])
    assert types(wire) == [
        "created",
        "in_progress",
        "output_item.added",
        "content_part.added",
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "completed",
    ]
    assert Response.model_validate(wire[-1]["response"]).output_text == ""


def test_echoed_request_fields_are_in_every_response() -> None:
    echo = EchoedRequest(
        instructions="Be brief.",
        tool_choice={"type": "function", "name": "f"},
        temperature=0.5,
        max_output_tokens=100,
        metadata={"k": "v"},
        text={"format": {"type": "json_schema", "name": "x", "schema": {}, "strict": True}},
    )
    wire = run([TextDelta("x"), Finish()], echo)
    for response in (wire[0]["response"], wire[-1]["response"]):
        r = Response.model_validate(response)
        assert r.instructions == "Be brief." and r.temperature == 0.5
        assert r.max_output_tokens == 100 and r.metadata == {"k": "v"}
        assert r.tool_choice.type == "function"  # type: ignore[union-attr]
        assert response["store"] is True and response["previous_response_id"] is None
        assert r.model == "grok-4.20-0309" and r.object == "response"


async def test_collect_matches_the_streamed_final_object() -> None:
    events = [ReasoningDelta("r"), TextDelta("t"), ToolCall("call_1", "f", "{}"), Finish()]
    b = builder()
    out = await collect(b, script(events))
    r = Response.model_validate(out.model_dump(mode="json"))
    assert r.status == "completed" and r.output_text == "t"
    assert [o.type for o in r.output] == ["reasoning", "message", "function_call"]
    assert r.output[2].call_id == f"call_{b.hex}_2"  # type: ignore[union-attr]
    assert out == b.response()
