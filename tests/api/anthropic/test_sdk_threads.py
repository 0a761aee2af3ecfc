"""Anthropic message threads (``thread`` on /v1/messages), end to end with the anthropic SDK.

The tool runner threads by default: the first request creates a thread with the whole
conversation, each later one continues it with only the new ``tool_result``. The simulator's
``one at a time`` loop calls one tool per turn and answers with every result since the user's
text, so the loop only finishes right if the gateway gave the model the whole history each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic import beta_tool

from tests.api.anthropic.thread_support import ThreadGateway, start_thread_gateway
from tests.sdk import anthropic_client as client
from tests.support import API_KEY, Sim

FAST = "grok-4.20-fast"
OTHER_KEY = "sk-test-other-0123456789ab"
ASK = 'one at a time: call get_weather {"city": "Oslo"} and then call get_time {"zone": "CET"}'
BETA = ["message-threads-2026-08-12"]


@beta_tool
def get_weather(city: str) -> str:
    """The current weather of a city.

    Args:
        city: The city.
    """
    return f"rain in {city}"


@beta_tool
def get_time(zone: str) -> str:
    """The time in a time zone.

    Args:
        zone: The time zone.
    """
    return f"noon {zone}"


@pytest.fixture
def gw(sim: Sim, tmp_path: Path) -> Iterator[ThreadGateway]:
    gateway = start_thread_gateway(sim.url, tmp_path / "gw", api_keys=f"{API_KEY},{OTHER_KEY}")
    yield gateway
    for server in gateway.servers:
        server.stop()


def _sent(sim: Sim) -> list[str]:
    return [r.body["message"] for r in sim.state.chat_requests()]


def _assert_whole_history_each_turn(sim: Sim) -> None:
    sent = _sent(sim)
    assert len(sent) == 3, sent
    for message in sent:  # the tools and the user's text reach the model on every turn
        assert "Tool: get_weather" in message and "Tool: get_time" in message
        assert ASK in message
    assert "<tool_name>get_weather</tool_name>" in sent[1] and "rain in Oslo" in sent[1]
    assert "<tool_name>get_time</tool_name>" in sent[2]
    assert "rain in Oslo" in sent[2] and "noon CET" in sent[2]


def test_tool_runner_finishes_a_two_tool_loop_over_a_thread(gw: ThreadGateway, sim: Sim) -> None:
    runner = client(gw.url).beta.messages.tool_runner(
        model=FAST,
        max_tokens=256,
        messages=[{"role": "user", "content": ASK}],
        tools=[get_weather, get_time],
    )
    final = runner.until_done()
    text = "".join(b.text for b in final.content if b.type == "text")
    assert text == "Tool result received: rain in Oslo; noon CET"
    _assert_whole_history_each_turn(sim)
    # It was threaded: two continues read the store, and only the last turn is left stored.
    threads = gw.store.threads()
    assert list(threads) == [final.id]
    stored = threads[final.id]["messages"]
    assert isinstance(stored, list) and len(stored) == 6
    assert gw.store.reads >= 2


def test_streaming_tool_runner_over_a_thread(gw: ThreadGateway, sim: Sim) -> None:
    runner = client(gw.url).beta.messages.tool_runner(
        model=FAST,
        max_tokens=256,
        messages=[{"role": "user", "content": ASK}],
        tools=[get_weather, get_time],
        stream=True,
    )
    finals = []
    for stream in runner:
        finals.append(stream.get_final_message())
    assert [m.stop_reason for m in finals] == ["tool_use", "tool_use", "end_turn"]
    text = "".join(b.text for b in finals[-1].content if b.type == "text")
    assert text == "Tool result received: rain in Oslo; noon CET"
    _assert_whole_history_each_turn(sim)
    assert list(gw.store.threads()) == [finals[-1].id]


def _create(c: anthropic.Anthropic, **extra: Any) -> Any:
    return c.beta.messages.create(
        model=FAST,
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "first question"}],
        thread={"type": "create"},
        betas=BETA,
        **extra,
    )


def _continue(c: anthropic.Anthropic, previous: str, text: str = "second question") -> Any:
    return c.beta.messages.create(
        model=FAST,
        max_tokens=64,
        messages=[{"role": "user", "content": text}],
        thread={"type": "continue", "previous_message_id": previous},
        betas=BETA,
    )


def test_continue_sends_the_held_system_and_history(gw: ThreadGateway, sim: Sim) -> None:
    c = client(gw.url)
    first = _create(c)
    second = _continue(c, first.id)
    sent = _sent(sim)[-1]
    assert sent.startswith("[system]: Be brief.")
    assert "[user]: first question" in sent and "[user]: second question" in sent
    assert first.content[0].text in sent  # the first reply, as the assistant's turn
    third = _continue(c, second.id, "third question")
    assert "[user]: second question" in _sent(sim)[-1]
    assert list(gw.store.threads()) == [third.id]


def test_a_streamed_turn_is_stored_before_message_stop(gw: ThreadGateway, sim: Sim) -> None:
    c = client(gw.url)
    with c.beta.messages.stream(
        model=FAST,
        max_tokens=64,
        messages=[{"role": "user", "content": "streamed question"}],
        thread={"type": "create"},
        betas=BETA,
    ) as stream:
        for event in stream:
            if event.type == "message_stop":
                assert event.message.id in gw.store.threads()
        first = stream.get_final_message()
    _continue(c, first.id)
    assert "[user]: streamed question" in _sent(sim)[-1]


def test_another_key_gets_not_found(gw: ThreadGateway) -> None:
    first = _create(client(gw.url))
    with pytest.raises(anthropic.NotFoundError) as caught:
        _continue(client(gw.url, OTHER_KEY), first.id)
    assert caught.value.error_code == "thread_not_found"
    body = caught.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "not_found_error"
    _continue(client(gw.url), first.id)  # still there for its owner


def test_an_unknown_id_is_not_found(gw: ThreadGateway, sim: Sim) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        _continue(client(gw.url), "msg_" + "0" * 32)
    assert caught.value.error_code == "thread_not_found"
    assert sim.state.chat_requests() == []  # refused before any upstream work


def test_an_expired_thread_is_not_found_and_the_helper_replays(gw: ThreadGateway, sim: Sim) -> None:
    c = client(gw.url)
    first = _create(c)
    gw.clock.now += gw.ttl + 1
    with pytest.raises(anthropic.NotFoundError):
        _continue(c, first.id)
    # The SDK's thread helper answers thread_not_found by sending everything again.
    thread = c.beta.messages.thread(model=FAST, max_tokens=64, system="Be brief.")
    thread.send({"role": "user", "content": "first question"})
    gw.clock.now += gw.ttl + 1
    reply = thread.send({"role": "user", "content": "after the expiry"})
    assert reply.content[0].type == "text"
    sent = _sent(sim)[-1]
    assert "[user]: first question" in sent and "[user]: after the expiry" in sent


def test_changing_a_held_field_on_continue_is_refused(gw: ThreadGateway, sim: Sim) -> None:
    c = client(gw.url)
    first = _create(c)
    with pytest.raises(anthropic.BadRequestError) as caught:
        c.beta.messages.create(
            model=FAST,
            max_tokens=64,
            system="Be verbose.",
            messages=[{"role": "user", "content": "again"}],
            thread={"type": "continue", "previous_message_id": first.id},
            betas=BETA,
        )
    assert caught.value.error_code == "thread_fingerprint_mismatch"
    assert "system" in str(caught.value)


def test_a_malformed_thread_is_a_400(gw: ThreadGateway) -> None:
    for thread in ({"type": "continue"}, {"type": "fork"}):
        with pytest.raises(anthropic.BadRequestError) as caught:
            client(gw.url).beta.messages.create(
                model=FAST,
                max_tokens=64,
                messages=[{"role": "user", "content": "hi"}],
                thread=thread,  # type: ignore[arg-type]
                betas=BETA,
            )
        assert "thread" in str(caught.value)


def test_tool_runner_on_the_gateways_own_store(gateway: str, sim: Sim) -> None:
    """The same loop on the store a gateway opens for itself (SQLite in its data dir)."""
    final = (
        client(gateway)
        .beta.messages.tool_runner(
            model=FAST,
            max_tokens=256,
            messages=[{"role": "user", "content": ASK}],
            tools=[get_weather, get_time],
        )
        .until_done()
    )
    assert final.content[0].type == "text"
    assert final.content[0].text == "Tool result received: rain in Oslo; noon CET"
    _assert_whole_history_each_turn(sim)
