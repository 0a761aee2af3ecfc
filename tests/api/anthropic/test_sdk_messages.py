"""The official anthropic SDK against a live gateway in front of the simulator: messages."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from grokgate.simulator.answers import final_text, thinking_text
from tests.sdk import anthropic_aclient as aclient
from tests.sdk import anthropic_client as client
from tests.support import API_KEY, Sim


@pytest.fixture(params=["plain", "cloudflare"])
def grok_front(request: pytest.FixtureRequest) -> str:
    """Each test here also runs over HTTPS through the Cloudflare-like edge."""
    return str(request.param)


FAST = "grok-4.20-fast"  # fast mode: no reasoning
THINKER = "grok-4.20-0309"  # auto mode: the simulator thinks
THINK = {"type": "enabled", "budget_tokens": 2048}


def user(text: str) -> list[anthropic.types.MessageParam]:
    return [{"role": "user", "content": text}]


def test_create_returns_the_echo(gateway: str, sim: Sim) -> None:
    out = client(gateway).messages.create(model=FAST, max_tokens=256, messages=user("Hello there"))
    assert out.type == "message" and out.role == "assistant"
    assert out.id.startswith("msg_")
    assert out.model == FAST
    assert out.stop_reason == "end_turn" and out.stop_sequence is None
    (block,) = out.content
    assert block.type == "text"
    assert block.text == final_text("[user]: Hello there")
    assert out.usage.input_tokens > 4 and out.usage.output_tokens > 0
    assert out.usage.cache_creation_input_tokens == 0
    assert out.usage.cache_read_input_tokens == 0
    assert sim.state.chat_requests()[-1].body["message"] == "[user]: Hello there"


def test_system_prompt_string_and_blocks(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    flattened = "[system]: Be brief.\n\n[user]: Hi"
    out = c.messages.create(model=FAST, max_tokens=64, system="Be brief.", messages=user("Hi"))
    assert out.content[0].text == final_text(flattened)  # type: ignore[union-attr]
    blocks = c.messages.create(
        model=FAST,
        max_tokens=64,
        system=[{"type": "text", "text": "Be brief."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    )
    assert blocks.content[0].text == final_text(flattened)  # type: ignore[union-attr]
    assert sim.state.chat_requests()[-1].body["message"] == flattened


def test_history_is_flattened(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    out = c.messages.create(
        model=FAST,
        max_tokens=64,
        messages=[
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": "three"},
        ],
    )
    flattened = "[user]: one\n\n[assistant]: two\n\n[user]: three"
    assert sim.state.chat_requests()[-1].body["message"] == flattened
    assert out.content[0].text == final_text(flattened)  # type: ignore[union-attr]


def test_raw_stream_event_sequence(gateway: str) -> None:
    events = list(
        client(gateway).messages.create(
            model=THINKER, max_tokens=256, messages=user("Hello there"), thinking=THINK, stream=True
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[1:3] == ["content_block_start", "content_block_delta"]  # ping is skipped
    assert kinds[-2:] == ["message_delta", "message_stop"]
    starts = [e for e in events if e.type == "content_block_start"]
    assert [(e.index, e.content_block.type) for e in starts] == [(0, "thinking"), (1, "text")]
    start = events[0]
    assert start.type == "message_start"
    assert start.message.content == [] and start.message.stop_reason is None
    assert start.message.usage.input_tokens > 4
    delta = events[-2]
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn" and delta.usage.output_tokens > 0
    signatures = [
        e for e in events if e.type == "content_block_delta" and e.delta.type == "signature_delta"
    ]
    assert len(signatures) == 1 and signatures[0].index == 0


def test_messages_stream_helper(gateway: str) -> None:
    with client(gateway).messages.stream(
        model=FAST, max_tokens=256, messages=user("stream me please")
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expected = final_text("[user]: stream me please")
    assert text == expected
    assert final.content[0].type == "text" and final.content[0].text == expected
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 4 and final.usage.output_tokens > 1


def test_thinking_enabled_gives_a_thinking_block(gateway: str) -> None:
    c = client(gateway)
    out = c.messages.create(model=THINKER, max_tokens=256, messages=user("Hello"), thinking=THINK)
    thinking, text = out.content
    assert thinking.type == "thinking" and text.type == "text"
    assert thinking.thinking == thinking_text("[user]: Hello", "auto")
    assert thinking.thinking == "Thinking about 5 characters."
    assert thinking.signature
    with c.messages.stream(
        model=THINKER, max_tokens=256, messages=user("Hello"), thinking=THINK
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == thinking.thinking  # type: ignore[union-attr]
    assert final.content[0].signature == thinking.signature  # type: ignore[union-attr]


@pytest.mark.parametrize("thinking", [None, {"type": "disabled"}])
def test_thinking_absent_or_disabled_hides_reasoning(
    gateway: str, thinking: dict[str, str] | None
) -> None:
    extra = {"thinking": thinking} if thinking else {}
    out = client(gateway).messages.create(
        model=THINKER,
        max_tokens=256,
        messages=user("Hello"),
        **extra,  # type: ignore[arg-type]
    )
    assert [b.type for b in out.content] == ["text"]


def test_adaptive_thinking_shows_reasoning(gateway: str) -> None:
    out = client(gateway).messages.create(
        model=THINKER,
        max_tokens=256,
        messages=user("Hello"),
        thinking={"type": "adaptive"},
    )
    assert [b.type for b in out.content] == ["thinking", "text"]


def test_max_tokens_cuts_the_answer(gateway: str) -> None:
    c = client(gateway)
    out = c.messages.create(model=FAST, max_tokens=2, messages=user("a long enough question"))
    assert out.stop_reason == "max_tokens"
    assert final_text("[user]: a long enough question").startswith(out.content[0].text)  # type: ignore[union-attr]
    assert out.usage.output_tokens <= 2
    with c.messages.stream(
        model=FAST, max_tokens=2, messages=user("a long enough question")
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    assert final.content[0].text == out.content[0].text  # type: ignore[union-attr]


def test_sampling_options_are_accepted(gateway: str) -> None:
    out = client(gateway).messages.create(
        model=FAST,
        max_tokens=64,
        messages=user("options"),
        stop_sequences=["never"],  # accepted, not enforced
        metadata={"user_id": "u-1"},
        service_tier="auto",
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5, "unknown_field": 1},
    )
    assert out.stop_reason == "end_turn"


def test_count_tokens_matches_usage_and_uses_no_account(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    counted = c.messages.count_tokens(model=FAST, system="Be brief.", messages=user("count me"))
    assert counted.input_tokens > 4
    assert sim.state.chat_requests() == []
    out = c.messages.create(
        model=FAST, max_tokens=64, system="Be brief.", messages=user("count me")
    )
    assert out.usage.input_tokens == counted.input_tokens
    with_tools = c.messages.count_tokens(
        model=FAST,
        messages=user("count me"),
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}],
    )
    assert with_tools.input_tokens > counted.input_tokens


async def test_async_client_create_and_stream(gateway: str) -> None:
    c = aclient(gateway)
    out = await c.messages.create(model=FAST, max_tokens=64, messages=user("async hi"))
    expected = final_text("[user]: async hi")
    assert out.content[0].text == expected  # type: ignore[union-attr]
    async with c.messages.stream(model=FAST, max_tokens=64, messages=user("async hi")) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert text == expected
    await c.close()


def test_raw_wire_has_named_events_and_a_ping(gateway: str) -> None:
    body = {"model": FAST, "max_tokens": 64, "stream": True, "messages": user("wire")}
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    with httpx.stream(
        "POST", f"{gateway}/v1/messages", json=body, headers=headers, timeout=20
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        raw = "".join(resp.iter_text())
    frames = [f for f in raw.replace("\r\n", "\n").split("\n\n") if f.strip()]
    names = []
    for frame in frames:
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        assert json.loads(lines["data"])["type"] == lines["event"]
        names.append(lines["event"])
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
