"""The xAI fake's Responses API (openai SDK), Anthropic Messages (anthropic SDK) and images."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import openai
import pytest

from grokgate.simulator.xai_messages import SIGNATURE
from tests.simulator.xai_support import KEY, XaiFake, sse_events

PNG = b"\x89PNG\r\n\x1a\n"
FN_TOOL: Any = {
    "type": "function",
    "name": "lookup",
    "parameters": {
        "type": "object",
        "properties": {"q": {"type": "string"}, "limit": {"type": ["integer", "null"]}},
        "required": ["q", "limit"],
    },
}
AN_TOOL: Any = {
    "name": "lookup",
    "description": "search",
    "input_schema": {
        "type": "object",
        "properties": {"q": {"type": "string"}, "exact": {"type": "boolean"}},
        "required": ["q", "exact"],
    },
}


def _msg(text: str) -> Any:
    return [{"role": "user", "content": text}]


# Responses API -------------------------------------------------------------------------------
def test_responses_non_stream(xai: XaiFake) -> None:
    result = xai.openai().responses.create(
        model="grok-4", input="hello there", instructions="be nice"
    )
    assert result.id.startswith("resp_") and result.object == "response"
    assert result.status == "completed" and result.model == "grok-4"
    assert result.output_text == "Echo: hello there"
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (4, 3)
    assert result.instructions == "be nice"


def test_responses_reasoning_item_and_message_list_input(xai: XaiFake) -> None:
    items: Any = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Echo: first"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "second one"}]},
    ]
    result = xai.openai().responses.create(model="grok-4-fast-reasoning", input=items)
    reasoning, message = result.output
    assert reasoning.type == "reasoning" and reasoning.content is not None
    assert reasoning.content[0].text == "Reasoning about: Echo: second one"
    assert message.type == "message" and result.output_text == "Echo: second one"
    assert result.usage is not None and result.usage.output_tokens_details.reasoning_tokens == 5


def test_responses_max_output_tokens_is_incomplete(xai: XaiFake) -> None:
    result = xai.openai().responses.create(model="grok-4", input="a b c d", max_output_tokens=2)
    assert result.status == "incomplete" and result.output_text == "Echo: a"
    assert result.incomplete_details is not None
    assert result.incomplete_details.reason == "max_output_tokens"


def test_responses_function_call_and_output(xai: XaiFake) -> None:
    client = xai.openai()
    result = client.responses.create(model="grok-4", input="find", tools=[FN_TOOL])
    (call,) = result.output
    assert call.type == "function_call" and call.name == "lookup"
    assert json.loads(call.arguments) == {"q": "example", "limit": 1}
    follow: Any = [
        {"role": "user", "content": "find"},
        {"type": "function_call", "call_id": call.call_id, "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "3 hits"},
    ]
    answer = client.responses.create(model="grok-4", input=follow, tools=[FN_TOOL])
    assert answer.output_text == "Tool result: 3 hits"


def test_responses_stream_events(xai: XaiFake) -> None:
    client = xai.openai()
    with client.responses.stream(model="grok-4-fast-reasoning", input="hi you") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["Echo:", " hi", " you"]
    reasoning = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert reasoning == "Reasoning about: Echo: hi you"
    assert final.output_text == "Echo: hi you" and final.status == "completed"


def test_responses_stream_wire_and_function_call(xai: XaiFake) -> None:
    body = {"model": "grok-4", "input": "go", "tools": [FN_TOOL], "stream": True}
    events = sse_events(xai.post("/v1/responses", body).text)
    assert all(name == data["type"] for name, data in events)
    kinds = [name for name, _ in events]
    assert "response.function_call_arguments.delta" in kinds and "[DONE]" not in str(events)
    done = next(d for n, d in events if n == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == {"q": "example", "limit": 1}
    with xai.openai().responses.stream(model="grok-4", input="go", tools=[FN_TOOL]) as stream:
        final = stream.get_final_response()
    assert final.output[0].type == "function_call"


def test_responses_validation(xai: XaiFake) -> None:
    empty = xai.post("/v1/responses", {"model": "grok-4", "input": []})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "input"
    unknown = xai.post("/v1/responses", {"model": "grok-0", "input": "x"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"


# Anthropic Messages --------------------------------------------------------------------------
def test_messages_non_stream(xai: XaiFake) -> None:
    message = xai.anthropic().messages.create(
        model="grok-4", max_tokens=50, system="terse", messages=_msg("hello")
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.model == "grok-4"
    (block,) = message.content
    assert block.type == "text" and block.text == "Echo: hello"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (2, 2)


def test_messages_max_tokens_and_stop_sequences(xai: XaiFake) -> None:
    client = xai.anthropic()
    cut = client.messages.create(model="grok-4", max_tokens=2, messages=_msg("a b c"))
    assert cut.content[0].type == "text" and cut.content[0].text == "Echo: a"
    assert cut.stop_reason == "max_tokens"
    stopped = client.messages.create(
        model="grok-4", max_tokens=50, messages=_msg("a b c"), stop_sequences=["x", " b"]
    )
    assert stopped.content[0].type == "text" and stopped.content[0].text == "Echo: a"
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", " b")


def test_messages_tool_use_and_tool_result(xai: XaiFake) -> None:
    client = xai.anthropic()
    message = client.messages.create(
        model="grok-4", max_tokens=50, messages=_msg("search"), tools=[AN_TOOL]
    )
    (block,) = message.content
    assert block.type == "tool_use" and block.id.startswith("toolu_")
    assert (block.name, block.input) == ("lookup", {"q": "example", "exact": True})
    assert message.stop_reason == "tool_use"
    history: Any = [
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True)]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "found"}],
        },
    ]
    answer = client.messages.create(
        model="grok-4", max_tokens=50, messages=history, tools=[AN_TOOL]
    )
    assert answer.content[0].type == "text" and answer.content[0].text == "Tool result: found"
    none = client.messages.create(
        model="grok-4",
        max_tokens=50,
        messages=_msg("x"),
        tools=[AN_TOOL],
        tool_choice={"type": "none"},
    )
    assert none.stop_reason == "end_turn"


def test_messages_stream_with_thinking(xai: XaiFake) -> None:
    client = xai.anthropic()
    with client.messages.stream(
        model="grok-4.20-0309-reasoning", max_tokens=50, messages=_msg("hey you")
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["Echo:", " hey", " you"]
    thinking, text = final.content
    assert thinking.type == "thinking" and thinking.signature == SIGNATURE
    assert thinking.thinking == "Reasoning about: Echo: hey you"
    assert text.type == "text" and text.text == "Echo: hey you"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 3 + 5


def test_messages_stream_wire_and_tool_use(xai: XaiFake) -> None:
    body = {"model": "grok-4", "max_tokens": 9, "messages": _msg("q"), "stream": True}
    response = xai.http.post("/v1/messages", json=body, headers={"x-api-key": KEY})
    events = sse_events(response.text)
    assert [n for n, _ in events] == [
        "message_start", "ping", "content_block_start", "content_block_delta",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert all(name == data["type"] for name, data in events)
    assert events[3][1]["delta"] == {"type": "text_delta", "text": "Echo:"}
    assert events[6][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[6][1]["usage"] == {"output_tokens": 2}
    with xai.anthropic().messages.stream(
        model="grok-4", max_tokens=50, messages=_msg("search"), tools=[AN_TOOL]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.stop_reason == "tool_use"
    assert final.content[0].input == {"q": "example", "exact": True}


def test_messages_auth_and_errors_use_anthropics_envelope(xai: XaiFake) -> None:
    body = {"model": "grok-4", "max_tokens": 9, "messages": _msg("q")}
    bearer = xai.http.post("/v1/messages", json=body, headers={"authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 200 and xai.state.last().key == KEY
    with pytest.raises(anthropic.AuthenticationError) as info:
        xai.anthropic("xai-wrong-0123456789abcdef").messages.create(**body)
    assert info.value.body["type"] == "error"  # type: ignore[index]
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert "xai-wrong-0123456789abcdef" not in info.value.response.text
    with pytest.raises(anthropic.NotFoundError) as missing:
        xai.anthropic().messages.create(**{**body, "model": "claude-9"})
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    no_max = xai.http.post(
        "/v1/messages", json={"model": "grok-4", "messages": _msg("q")}, headers={"x-api-key": KEY}
    )
    assert no_max.status_code == 400
    assert no_max.json()["error"] == {
        "type": "invalid_request_error",
        "message": no_max.json()["error"]["message"],
    }
    assert no_max.json()["error"]["message"].startswith("max_tokens")
    bad_json = xai.http.post("/v1/messages", content=b"{", headers={"x-api-key": KEY})
    assert bad_json.status_code == 400 and bad_json.json()["type"] == "error"


# images --------------------------------------------------------------------------------------
def test_images_urls_serve_pngs(xai: XaiFake) -> None:
    result = xai.openai().images.generate(model="grok-2-image-1212", prompt="a cat", n=2)
    assert result.created > 0 and result.data is not None and len(result.data) == 2
    urls = [image.url or "" for image in result.data]
    assert len(set(urls)) == 2 and all(u.startswith(f"{xai.url}/__xai/images/") for u in urls)
    assert result.data[0].revised_prompt == "a cat"
    fetched = xai.http.get(urls[0])
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert fetched.content.startswith(PNG)
    again = xai.openai().images.generate(model="grok-2-image-1212", prompt="a cat")
    assert again.data is not None and again.data[0].url == urls[0]  # deterministic
    assert xai.http.get("/__xai/images/../etc").status_code == 404


def test_images_b64_and_errors(xai: XaiFake) -> None:
    client = xai.openai()
    result = client.images.generate(
        model="grok-2-image-1212", prompt="a dog", response_format="b64_json"
    )
    assert result.data is not None and result.data[0].url is None
    assert base64.b64decode(result.data[0].b64_json or "").startswith(PNG)
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="grok-4", prompt="x")
    assert info.value.code == "model_not_supported"
    with pytest.raises(openai.NotFoundError):
        client.images.generate(model="grok-1-image", prompt="x")
    with pytest.raises(openai.BadRequestError):
        client.images.generate(model="grok-2-image-1212", prompt="")
    with pytest.raises(openai.AuthenticationError):
        xai.openai("xai-nope-0123456789").images.generate(model="grok-2-image-1212", prompt="x")
