"""The official openai SDK (sync and async) against a live gateway in front of the simulator."""

from __future__ import annotations

import hashlib

import pytest

from grokgate.config import DEFAULT_XAI_MODELS
from grokgate.core.registry import Registry
from grokgate.simulator.answers import rendered_text
from tests.sdk import openai_aclient as aclient
from tests.sdk import openai_client as client
from tests.support import Sim


@pytest.fixture(params=["plain", "cloudflare"])
def grok_front(request: pytest.FixtureRequest) -> str:
    """Each test here also runs over HTTPS through the Cloudflare-like edge."""
    return str(request.param)


def echo(flattened: str, user_text: str) -> str:
    return f"Echo: {user_text} [sha:{hashlib.sha256(flattened.encode()).hexdigest()[:10]}]"


def test_list_and_retrieve_models(gateway: str) -> None:
    c = client(gateway)
    ids = [m.id for m in c.models.list()]
    assert ids == [m.id for m in Registry(DEFAULT_XAI_MODELS, ["grok-2-image-1212"]).listed()]
    model = c.models.retrieve("grok-4.20-0309-reasoning")
    assert model.id == "grok-4.20-0309-reasoning"
    assert model.object == "model"
    assert model.owned_by == "grokgate"


def test_non_stream_chat_with_reasoning(gateway: str, sim: Sim) -> None:
    out = client(gateway).chat.completions.create(
        model="grok-4.20-0309", messages=[{"role": "user", "content": "Hello there"}]
    )
    assert out.object == "chat.completion"
    assert out.id.startswith("chatcmpl-")
    choice = out.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == echo("[user]: Hello there", "Hello there")
    reasoning = choice.message.model_extra["reasoning_content"]  # type: ignore[index]
    assert reasoning == "Thinking about 11 characters."
    assert out.usage is not None
    assert out.usage.prompt_tokens > 4
    details = out.usage.completion_tokens_details
    assert details is not None and details.reasoning_tokens > 0
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
    # what grok.com received: the docs/grok-protocol.md §3.1 body with the model's mode
    body = sim.state.chat_requests()[-1].body
    assert body["modeId"] == "auto"
    assert body["message"] == "[user]: Hello there"
    assert body["temporary"] is True and body["disableMemory"] is True


def test_reasoning_effort_none_hides_reasoning(gateway: str) -> None:
    c = client(gateway)
    out = c.chat.completions.create(
        model="grok-4.20-0309-reasoning",
        messages=[{"role": "user", "content": "quiet please"}],
        reasoning_effort="none",  # type: ignore[arg-type]
    )
    assert out.choices[0].message.model_extra.get("reasoning_content") is None  # type: ignore[union-attr]
    chunks = list(
        c.chat.completions.create(
            model="grok-4.20-0309-reasoning",
            messages=[{"role": "user", "content": "quiet please"}],
            reasoning_effort="none",  # type: ignore[arg-type]
            stream=True,
        )
    )
    assert not any(
        ch.choices and (ch.choices[0].delta.model_extra or {}).get("reasoning_content")
        for ch in chunks
    )


def test_stream_chat_with_reasoning_and_usage(gateway: str) -> None:
    stream = client(gateway).chat.completions.create(
        model="grok-4.20-auto",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "")
        for c in chunks
        if c.choices
    )
    assert content == echo("[user]: stream me", "stream me")
    assert reasoning == "Thinking about 9 characters."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens_details.reasoning_tokens > 0  # type: ignore[union-attr]
    assert sum(1 for c in chunks if c.usage is not None) == 1


def test_stream_without_usage_has_no_usage_chunk(gateway: str) -> None:
    chunks = list(
        client(gateway).chat.completions.create(
            model="grok-4.20-fast", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    # the fast mode does not think
    assert not any((c.choices[0].delta.model_extra or {}).get("reasoning_content") for c in chunks)


def test_multi_turn_with_system_message_and_unicode(gateway: str, sim: Sim) -> None:
    user = "Привет, 世界! ñandú 🚀 — «quotes» \u00e9\u0301"
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "developer", "content": "Answer in one line."},
        {"role": "user", "content": [{"type": "text", "text": user}]},
    ]
    out = client(gateway).chat.completions.create(model="grok-4.20-fast", messages=messages)  # type: ignore[arg-type]
    flattened = (
        "[system]: You are terse.\n\n[user]: first question\n\n[assistant]: first answer\n\n"
        f"[system]: Answer in one line.\n\n[user]: {user}"
    )
    assert sim.state.chat_requests()[-1].body["message"] == flattened
    assert out.choices[0].message.content == echo(flattened, user)


def test_search_citations_become_markdown_links(gateway: str) -> None:
    text = "please search the news"
    out = client(gateway).chat.completions.create(
        model="grok-4.20-fast", messages=[{"role": "user", "content": text}]
    )
    assert out.choices[0].message.content == rendered_text(f"[user]: {text}")
    assert "<grok:render" not in (out.choices[0].message.content or "")


def test_statsig_header_is_signed_and_verified(gateway: str, sim: Sim) -> None:
    client(gateway).chat.completions.create(
        model="grok-4.20-fast", messages=[{"role": "user", "content": "signed?"}]
    )
    recorded = sim.state.chat_requests()[-1]
    assert recorded.statsig_ok
    assert recorded.headers["cookie"].startswith("sso=")


async def test_async_client_non_stream_and_stream(gateway: str) -> None:
    c = aclient(gateway)
    out = await c.chat.completions.create(
        model="grok-4.20-0309-non-reasoning", messages=[{"role": "user", "content": "async"}]
    )
    assert out.choices[0].message.content == echo("[user]: async", "async")
    stream = await c.chat.completions.create(
        model="grok-4.20-0309-non-reasoning",
        messages=[{"role": "user", "content": "async stream"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts = [ch.choices[0].delta.content or "" async for ch in stream if ch.choices]
    assert "".join(parts) == echo("[user]: async stream", "async stream")
    models = [m.id async for m in c.models.list()]
    assert "grok-4.20-fast" in models
    await c.close()


@pytest.mark.parametrize("model", ["grok-4.20-0309-reasoning", "grok-4.20-multi-agent-0309"])
def test_models_reach_their_mode_and_tier(gateway: str, sim: Sim, model: str) -> None:
    client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "which mode"}]
    )
    recorded = sim.state.chat_requests()[-1]
    expected_mode = {"grok-4.20-0309-reasoning": "expert", "grok-4.20-multi-agent-0309": "heavy"}
    assert recorded.body["modeId"] == expected_mode[model]
    tier = sim.state.accounts[recorded.token].tier  # type: ignore[index]
    assert tier in ({"super", "heavy"} if model.endswith("reasoning") else {"heavy"})
