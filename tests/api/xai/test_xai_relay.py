"""The xAI API upstream through the live gateway, judged by the official SDKs: parameters and
native tools reach xAI unchanged, over HTTP/2, with the pool's key and never the client's."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.xai.conftest import FIRST, KEYS, Xai
from tests.sdk import anthropic_client, openai_client
from tests.support import API_KEY, Gateway

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}
PARAMS = {"temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "stop": ["STOP"]}


def test_models_list_xai_models_with_their_upstream(xai_gateway: Gateway) -> None:
    models = {m.id: m for m in openai_client(xai_gateway.url).models.list()}
    assert models["grok-4"].owned_by == "xai"
    assert models["grok-2-image-1212"].owned_by == "xai"
    # an id the grok.com table already uses is listed under xai/
    assert models["grok-4.20-0309-reasoning"].owned_by == "grokgate"
    assert models["xai/grok-4.20-0309-reasoning"].owned_by == "xai"


def test_non_stream_chat_with_native_tools_and_params_passed_unchanged(
    xai_gateway: Gateway, xai: Xai
) -> None:
    out = openai_client(xai_gateway.url).chat.completions.create(
        model="grok-4",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        frequency_penalty=0.1,
        **PARAMS,  # type: ignore[arg-type]
    )
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "example", "unit": "c"}  # type: ignore[union-attr]
    assert out.usage is not None and out.usage.total_tokens > 0
    record = xai.state.last("/v1/chat/completions")
    sent = record.body
    assert sent["model"] == "grok-4"
    assert {k: sent[k] for k in PARAMS} == PARAMS
    assert sent["frequency_penalty"] == 0.1
    assert sent["tools"] == [WEATHER]
    assert record.key == FIRST
    assert record.headers["authorization"] == f"Bearer {FIRST}"
    assert API_KEY not in json.dumps(record.headers)  # the client's key stays here
    assert record.http_version == "2"


def test_stream_chat_relays_tool_call_chunks(xai_gateway: Gateway, xai: Xai) -> None:
    stream = openai_client(xai_gateway.url).chat.completions.create(
        model="grok-4-fast-reasoning",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
        **PARAMS,  # type: ignore[arg-type]
    )
    chunks = list(stream)
    calls = [
        c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls
    ]
    assert calls and calls[0][0].function.name == "get_weather"  # type: ignore[index,union-attr]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls"
    assert chunks[-1].usage is not None  # the usage chunk, then [DONE]
    sent = xai.state.last("/v1/chat/completions").body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert {k: sent[k] for k in PARAMS} == PARAMS


def test_stream_text_stop_and_reasoning(xai_gateway: Gateway, xai: Xai) -> None:
    stream = openai_client(xai_gateway.url).chat.completions.create(
        model="xai/grok-4.20-0309-reasoning",
        messages=[{"role": "user", "content": "one two STOP three"}],
        stop="STOP",
        stream=True,
    )
    text, reasoning = "", ""
    for chunk in stream:
        if chunk.choices:
            delta = chunk.choices[0].delta
            text += delta.content or ""
            reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
    assert text == "Echo: one two"  # cut before the stop string
    assert reasoning.startswith("Reasoning about:")
    assert xai.state.last().body["model"] == "grok-4.20-0309-reasoning"


def test_raw_stream_ends_with_done_as_xai_sent_it(xai_gateway: Gateway) -> None:
    with httpx.stream(
        "POST",
        f"{xai_gateway.url}/v1/chat/completions",
        json={"model": "grok-4", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    first = json.loads(lines[0][5:])
    assert first["object"] == "chat.completion.chunk" and first["model"] == "grok-4"


def test_anthropic_messages_stream(xai_gateway: Gateway, xai: Xai) -> None:
    client = anthropic_client(xai_gateway.url)
    with client.messages.stream(
        model="grok-4",
        max_tokens=100,
        stop_sequences=["never"],
        messages=[{"role": "user", "content": "Hello Claude client"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: Hello Claude client"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    record = xai.state.last("/v1/messages")
    assert record.body["stop_sequences"] == ["never"] and record.body["max_tokens"] == 100
    assert record.headers["x-api-key"] in KEYS
    assert record.headers["anthropic-version"]
    assert record.http_version == "2"


def test_anthropic_messages_non_stream_with_tools(xai_gateway: Gateway) -> None:
    out = anthropic_client(xai_gateway.url).messages.create(
        model="grok-4",
        max_tokens=100,
        tools=[
            {
                "name": "get_weather",
                "input_schema": WEATHER["function"]["parameters"],  # type: ignore[index]
            }
        ],
        messages=[{"role": "user", "content": "weather?"}],
    )
    assert out.stop_reason == "tool_use"
    (block,) = out.content
    assert block.type == "tool_use" and block.name == "get_weather"


@pytest.mark.parametrize("stream", [False, True])
def test_responses(xai_gateway: Gateway, xai: Xai, stream: bool) -> None:
    client = openai_client(xai_gateway.url)
    if stream:
        events = list(client.responses.create(model="grok-4", input="Hi there", stream=True))
        done = [e for e in events if e.type == "response.completed"]
        assert done and done[0].response.output_text == "Echo: Hi there"
    else:
        out = client.responses.create(model="grok-4", input="Hi there", max_output_tokens=40)
        assert out.output_text == "Echo: Hi there"
        assert xai.state.last("/v1/responses").body["max_output_tokens"] == 40


def test_image_generation(xai_gateway: Gateway, xai: Xai) -> None:
    out = openai_client(xai_gateway.url).images.generate(
        model="grok-2-image-1212", prompt="a lighthouse", n=2, response_format="b64_json"
    )
    assert out.data is not None and len(out.data) == 2
    assert all(d.b64_json for d in out.data)
    assert xai.state.last("/v1/images/generations").body["n"] == 2
