"""The xAI fake's models and chat completions, driven by the official openai SDK."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from grokgate.simulator.xai_state import XAI_MODELS
from tests.simulator.xai_support import (
    KEY,
    WEATHER_TOOL,
    XaiFake,
    chat_body,
    sse_events,
)


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# models --------------------------------------------------------------------------------------
def test_models_list_and_retrieve(xai: XaiFake) -> None:
    client = xai.openai()
    models = client.models.list()
    assert [m.id for m in models.data] == list(XAI_MODELS)
    assert {m.owned_by for m in models.data} == {"xai"}
    assert {m.object for m in models.data} == {"model"}
    assert all(isinstance(m.created, int) for m in models.data)
    assert client.models.retrieve("grok-4.3").id == "grok-4.3"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("grok-9")
    assert info.value.code == "model_not_found"


def test_unknown_model_is_404_with_xai_message(xai: XaiFake) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        xai.openai().chat.completions.create(model="grok-99", messages=_user("hi"))
    assert info.value.body == {
        "message": "The model grok-99 does not exist or your team does not have access to it.",
        "type": "invalid_request_error",
        "code": "model_not_found",
    }


# non-stream ----------------------------------------------------------------------------------
def test_chat_echoes_the_last_user_message(xai: XaiFake) -> None:
    messages: Any = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Echo: first"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": "world"}],
        },
    ]
    result = xai.openai().chat.completions.create(model="grok-4", messages=messages)
    assert result.id.startswith("chatcmpl-") and result.object == "chat.completion"
    assert result.model == "grok-4" and result.system_fingerprint and result.created > 0
    (choice,) = result.choices
    assert choice.message.role == "assistant" and choice.message.content == "Echo: hello world"
    assert choice.finish_reason == "stop" and choice.index == 0
    assert result.usage is not None
    # prompt: "be brief" + "first" + "Echo: first" + "hello world" = 7 words; answer 3 tokens
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 3)
    assert result.usage.total_tokens == 10
    assert (choice.message.model_extra or {}).get("reasoning_content") is None


def test_reasoning_models_add_reasoning_content(xai: XaiFake) -> None:
    client = xai.openai()
    result = client.chat.completions.create(model="grok-4-fast-reasoning", messages=_user("hi"))
    extra = result.choices[0].message.model_extra or {}
    assert extra["reasoning_content"] == "Reasoning about: Echo: hi"
    assert result.usage is not None and result.usage.completion_tokens == 2 + 4
    assert result.usage.completion_tokens_details is not None
    assert result.usage.completion_tokens_details.reasoning_tokens == 4
    plain = client.chat.completions.create(model="grok-4-fast-non-reasoning", messages=_user("hi"))
    assert "reasoning_content" not in (plain.choices[0].message.model_extra or {})


def test_max_tokens_cuts_with_finish_length(xai: XaiFake) -> None:
    result = xai.openai().chat.completions.create(
        model="grok-4", messages=_user("one two three four"), max_tokens=2
    )
    assert result.choices[0].message.content == "Echo: one"
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None and result.usage.completion_tokens == 2


def test_stop_cuts_before_the_earliest_stop_string(xai: XaiFake) -> None:
    client = xai.openai()
    result = client.chat.completions.create(
        model="grok-4", messages=_user("alpha beta gamma"), stop=["gamma", " beta"]
    )
    assert result.choices[0].message.content == "Echo: alpha"
    assert result.choices[0].finish_reason == "stop"
    single = client.chat.completions.create(model="grok-4", messages=_user("a b c"), stop=" c")
    assert single.choices[0].message.content == "Echo: a b"


def test_n_gives_n_identical_choices(xai: XaiFake) -> None:
    result = xai.openai().chat.completions.create(model="grok-4", messages=_user("hey"), n=3)
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert {c.message.content for c in result.choices} == {"Echo: hey"}
    assert result.usage is not None and result.usage.completion_tokens == 3 * 2


def test_tools_give_one_native_tool_call(xai: XaiFake) -> None:
    client = xai.openai()
    result = client.chat.completions.create(
        model="grok-4", messages=_user("weather?"), tools=[WEATHER_TOOL]
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "example", "days": 1, "unit": "c"}


def test_tool_choice_picks_or_disables_tools(xai: XaiFake) -> None:
    client = xai.openai()
    other: Any = {"type": "function", "function": {"name": "noop"}}  # no parameters → {}
    picked = client.chat.completions.create(
        model="grok-4",
        messages=_user("x"),
        tools=[WEATHER_TOOL, other],
        tool_choice={"type": "function", "function": {"name": "noop"}},
    )
    (call,) = picked.choices[0].message.tool_calls or []
    assert (call.function.name, call.function.arguments) == ("noop", "{}")
    none = client.chat.completions.create(
        model="grok-4", messages=_user("x"), tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert none.choices[0].message.content == "Echo: x" and not none.choices[0].message.tool_calls


def test_a_tool_result_gets_a_text_answer(xai: XaiFake) -> None:
    messages: Any = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny 21C"},
    ]
    result = xai.openai().chat.completions.create(
        model="grok-4", messages=messages, tools=[WEATHER_TOOL]
    )
    assert result.choices[0].message.content == "Tool result: sunny 21C"
    assert result.choices[0].finish_reason == "stop"


# stream --------------------------------------------------------------------------------------
def test_stream_chunks_with_usage(xai: XaiFake) -> None:
    chunks = list(
        xai.openai().chat.completions.create(
            model="grok-4",
            messages=_user("hi there"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert contents == ["Echo:", " hi", " there"]
    assert all(c.choices[0].finish_reason is None for c in chunks[:-2])
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].usage is None
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (2, 3)


def test_stream_wire_format_ends_with_done(xai: XaiFake) -> None:
    response = xai.post("/v1/chat/completions", chat_body("a b", stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("data: {") and response.text.endswith("data: [DONE]\n\n")
    events = sse_events(response.text)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [data for _, data in events[:-1]]
    assert all("usage" not in c for c in chunks)  # no include_usage → no usage anywhere
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }


def test_stream_reasoning_then_content_and_n(xai: XaiFake) -> None:
    response = xai.post(
        "/v1/chat/completions", chat_body("yo", model="grok-4.20-0309-reasoning", stream=True, n=2)
    )
    chunks = [data for _, data in sse_events(response.text)[:-1]]
    by_index: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    for chunk in chunks:
        (choice,) = chunk["choices"]
        by_index[choice["index"]].append(choice["delta"])
    for deltas in by_index.values():
        reasoning = "".join(d.get("reasoning_content", "") for d in deltas)
        content = "".join(d.get("content") or "" for d in deltas)
        assert (reasoning, content) == ("Reasoning about: Echo: yo", "Echo: yo")
        first_content = next(i for i, d in enumerate(deltas) if d.get("content"))
        assert all("reasoning_content" not in d for d in deltas[first_content:])


def test_stream_tool_call_deltas(xai: XaiFake) -> None:
    stream = xai.openai().chat.completions.create(
        model="grok-4", messages=_user("weather?"), tools=[WEATHER_TOOL], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            if delta.function is not None:
                call["name"] += delta.function.name or ""
                call["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls" and list(calls) == [0]
    assert calls[0]["id"].startswith("call_") and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"])["unit"] == "c"


def test_stream_respects_max_tokens_and_stop(xai: XaiFake) -> None:
    client = xai.openai()
    cut = list(
        client.chat.completions.create(
            model="grok-4", messages=_user("a b c d"), max_tokens=3, stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in cut)
    assert text == "Echo: a b" and cut[-1].choices[0].finish_reason == "length"
    stopped = list(
        client.chat.completions.create(
            model="grok-4", messages=_user("a b c d"), stop=[" c"], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in stopped)
    assert text == "Echo: a b" and stopped[-1].choices[0].finish_reason == "stop"


# auth and validation -------------------------------------------------------------------------
def test_wrong_or_missing_key_is_401_and_masked(xai: XaiFake) -> None:
    wrong = "xai-wrong-secret-key-0123456789"
    with pytest.raises(openai.AuthenticationError) as info:
        xai.openai(wrong).chat.completions.create(model="grok-4", messages=_user("hi"))
    body: Any = info.value.body
    assert body["code"] == "invalid_api_key" and body["type"] == "invalid_request_error"
    assert body["message"].startswith("Incorrect API key provided: xai-wr")
    assert wrong not in json.dumps(body)
    missing = xai.http.get("/v1/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    assert xai.post("/v1/models", None, key=KEY).status_code == 405
    xai.state.remove_key(KEY)
    assert xai.http.get("/v1/models", headers={"authorization": f"Bearer {KEY}"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"model": "grok-4", "messages": []}, "invalid_request", "messages"),
        ({"messages": [{"role": "user", "content": "x"}]}, "invalid_request", "model"),
        (
            {"model": "grok-4", "messages": [{"role": "robot", "content": "x"}]},
            "invalid_request",
            "messages",
        ),
        ({"model": "grok-4", "messages": [{"role": "user"}]}, "invalid_request", "messages"),
        ({"model": "grok-4", "messages": "hi"}, "invalid_request", "messages"),
        (chat_body(temperature=3), "invalid_request", "temperature"),
        (chat_body(max_tokens=0), "invalid_request", "max_tokens"),
        (chat_body(n=0), "invalid_request", "n"),
        (chat_body(model="grok-2-image-1212"), "model_not_supported", "model"),
        ([1, 2], "invalid_request", None),
    ],
)
def test_invalid_bodies_are_400(xai: XaiFake, body: Any, code: str, param: str | None) -> None:
    response = xai.post("/v1/chat/completions", body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error"
    assert error.get("param") == param and error["message"]


def test_invalid_json_is_400_invalid_json(xai: XaiFake) -> None:
    response = xai.http.post(
        "/v1/chat/completions",
        content=b"{not json",
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert xai.state.last().body is None


def test_unknown_route_and_method_use_the_openai_envelope(xai: XaiFake) -> None:
    missing = xai.http.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = xai.http.get("/v1/chat/completions")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
