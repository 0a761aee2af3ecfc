"""The simulator as the 2026 captures show grok.com (docs/grok-protocol.md §5.5, §5.6,
§8.1): the gateway's channel enum and answer variants, error code 7, and ``waitTimeSeconds`` of
an exhausted mode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from websockets.exceptions import ConnectionClosedOK

from grokgate.simulator.answers import rendered_text, split_tokens, thinking_text
from grokgate.simulator.gateway_frames import (
    GATEWAY_VARIANTS,
    LATE_THINKING,
    NOTETAKER_CHANNELS,
    NOTETAKER_TEXTS,
)
from grokgate.simulator.state import RATE_LIMITS_PATH
from tests.simulator.gateway_support import SEARCH_PROMPT, interpret, turn, types

if TYPE_CHECKING:
    from conftest import Sim

PROMPT = "[user]: hello there"
ANSWER, THINKING = "CHANNEL_ASSISTANT_RESPONSE", "CHANNEL_ASSISTANT_THINKING"


def texts(frames: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, text) of every text-carrying event: a chunk's channel, or the event type."""
    out: list[tuple[str, str]] = []
    for frame in frames:
        event = frame["event"]
        if event["type"] == "response.reasoning_text.delta":
            out.append((event["type"], event["delta"]))
        elif event["type"] == "response.chunk" and "text" in event["chunk"]:
            out.append((event["chunk"]["text"]["channel"], event["chunk"]["text"]["text"]))
    return out


# channels ------------------------------------------------------------------------------------
async def test_thinking_is_on_the_thinking_channel(sim: Sim) -> None:
    frames, closed = await turn(sim, PROMPT)
    assert closed is None
    channels = [channel for channel, _ in texts(frames)]
    assert set(channels) == {THINKING, ANSWER}
    assert channels.index(ANSWER) == len(split_tokens(thinking_text(PROMPT, "auto")))
    assert interpret(frames)[:2] == (rendered_text(PROMPT), thinking_text(PROMPT, "auto"))


async def test_notetaker_variant(sim: Sim) -> None:
    sim.state.gateway_variants = frozenset({"notetaker"})
    frames, _ = await turn(sim, PROMPT)
    got = texts(frames)
    assert got[0] == (NOTETAKER_CHANNELS[0], NOTETAKER_TEXTS[0])
    assert got[-1] == (NOTETAKER_CHANNELS[1], NOTETAKER_TEXTS[1])
    assert types(frames)[-1] == "response.done"
    # read by the enum, the answer and the reasoning are unchanged
    assert interpret(frames)[:2] == (rendered_text(PROMPT), thinking_text(PROMPT, "auto"))


@pytest.mark.parametrize("prompt", [PROMPT, SEARCH_PROMPT])
async def test_late_reasoning_variant(sim: Sim, prompt: str) -> None:
    sim.state.gateway_variants = frozenset({"late_reasoning"})
    frames, _ = await turn(sim, prompt)
    got = texts(frames)
    first_answer = [channel for channel, _ in got].index(ANSWER)
    assert got[first_answer + 1] == (THINKING, LATE_THINKING)
    text, reasoning, _ = interpret(frames)
    assert text == rendered_text(prompt)
    assert reasoning == thinking_text(prompt, "auto") + LATE_THINKING


async def test_late_reasoning_needs_a_mode_that_thinks(sim: Sim) -> None:
    sim.state.gateway_variants = frozenset({"late_reasoning"})
    frames, _ = await turn(sim, PROMPT, "fast")
    assert {channel for channel, _ in texts(frames)} == {ANSWER}


async def test_reasoning_text_variant(sim: Sim) -> None:
    sim.state.gateway_variants = frozenset({"reasoning_text", "late_reasoning"})
    frames, _ = await turn(sim, PROMPT)
    deltas = [f["event"] for f in frames if f["event"]["type"] == "response.reasoning_text.delta"]
    assert all(set(d) == {"type", "delta"} for d in deltas)
    thought = "".join(d["delta"] for d in deltas)
    assert thought == thinking_text(PROMPT, "auto") + LATE_THINKING
    assert THINKING not in {channel for channel, _ in texts(frames)}
    assert interpret(frames)[0] == rendered_text(PROMPT)


# error code 7 --------------------------------------------------------------------------------
@pytest.mark.parametrize(("variants", "code"), [(set(), "anti_bot"), ({"antibot_code7"}, 7)])
async def test_anti_bot_error_code(sim: Sim, variants: set[str], code: Any) -> None:
    sim.state.gateway_variants = frozenset(variants)
    sim.state.inject("tok-super", "403_antibot")
    frames, closed = await turn(sim, PROMPT)
    assert types(frames) == ["error"]
    assert frames[0]["event"]["error"] == {
        "code": code,
        "message": "Request rejected by anti-bot rules.",
    }
    assert isinstance(closed, ConnectionClosedOK)
    assert sim.state.quota("tok-super", "auto")[1] == 50  # no quota spent
    frames, _ = await turn(sim, PROMPT)  # the fault was used up; the variant stays
    assert types(frames)[-1] == "response.done"


# the control endpoint ------------------------------------------------------------------------
def test_control_sets_and_reset_clears_the_variants(sim: Sim) -> None:
    every = sorted(GATEWAY_VARIANTS)
    assert sim.http.post("/__sim/gateway", json={"variants": every}).status_code == 204
    assert sim.state.gateway_variants == GATEWAY_VARIANTS
    assert sim.state.gateway_refuse is None
    for bad in (["nope"], "notetaker", None):
        response = sim.http.post("/__sim/gateway", json={"variants": bad})
        assert response.status_code == 400
    assert sim.state.gateway_variants == GATEWAY_VARIANTS
    both = {"variants": ["notetaker"], "refuse": 404}
    assert sim.http.post("/__sim/gateway", json=both).status_code == 204
    assert (sim.state.gateway_variants, sim.state.gateway_refuse) == ({"notetaker"}, 404)
    sim.state.reset()
    assert sim.state.gateway_variants == frozenset() and sim.state.gateway_refuse is None


# waitTimeSeconds -----------------------------------------------------------------------------
def limits(sim: Sim, token: str, mode: str) -> dict[str, Any]:
    response = sim.post(RATE_LIMITS_PATH, {"modelName": mode}, token)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def test_an_exhausted_mode_says_when_it_reopens(sim: Sim) -> None:
    sim.state.set_remaining("tok-basic", "fast", 0, reset_in=12600)
    answer = limits(sim, "tok-basic", "fast")
    assert answer["remainingQueries"] == 0 and answer["windowSizeSeconds"] == 86400
    assert answer["waitTimeSeconds"] == 12600
    sim.clock.advance(600)
    assert limits(sim, "tok-basic", "fast")["waitTimeSeconds"] == 12000
    response = sim.chat("[user]: more", "fast", token="tok-basic")  # a chat agrees
    assert response.status_code == 429 and response.headers["retry-after"] == "12000"
    sim.clock.advance(12000)
    answer = limits(sim, "tok-basic", "fast")
    assert answer["remainingQueries"] == 30 and "waitTimeSeconds" not in answer


def test_wait_time_only_for_an_exhausted_mode(sim: Sim) -> None:
    assert "waitTimeSeconds" not in limits(sim, "tok-super", "auto")
    assert "waitTimeSeconds" not in limits(sim, "tok-super", "heavy")  # not in the tier
    sim.state.set_remaining("tok-super", "expert", 0)  # its window has not started
    assert limits(sim, "tok-super", "expert")["waitTimeSeconds"] == 7200
    for i in range(30):  # spent by chats: the window started with the first one
        assert sim.chat(f"[user]: n{i}", "fast", token="tok-basic").status_code == 200
    sim.clock.advance(100)
    assert limits(sim, "tok-basic", "fast")["waitTimeSeconds"] == 86400 - 100
