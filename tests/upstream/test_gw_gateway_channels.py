"""GatewayAdapter and the 2026 captures of the WebSocket gateway: the channel enum (names and
numbers), reasoning after the answer began, ``response.reasoning_text.delta`` and error code 7."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.errors import UpstreamError, UpstreamStreamError, Verdict
from grokgate.events import Finish, ReasoningDelta, TextDelta
from grokgate.upstream.grokweb.gateway_adapter import GatewayAdapter, channel_role, gateway_error

DONE = {"event": {"type": "response.done", "response": {"id": "r1", "status": "completed"}}}
ANTI_BOT = "Request rejected by anti-bot rules."
BLOCKED = "User is blocked: Bot abuse - free tier account [WKE=unauthorized:blocked-user]"


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"session_id": "s1", "event": {"type": kind, **fields}}


def text(tok: str, channel: Any = "CHANNEL_ASSISTANT_RESPONSE") -> dict[str, Any]:
    return ev("response.chunk", response_id="r1", chunk={"text": {"text": tok, "channel": channel}})


def thinking_delta(tok: str) -> dict[str, Any]:
    return ev("response.reasoning_text.delta", delta=tok)


def feed(adapter: GatewayAdapter, *frames: dict[str, Any]) -> list[Any]:
    return [event for frame in frames for event in adapter.feed(frame)]


# --- the channel enum -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "role"),
    [
        ("CHANNEL_ASSISTANT_RESPONSE", "answer"),
        ("CHANNEL_ASSISTANT_THINKING", "reasoning"),
        ("CHANNEL_NOTETAKER_HEADER", None),
        ("CHANNEL_NOTETAKER_SUMMARY", None),
        (1, "answer"),
        (2, "reasoning"),
        (3, None),
        (4, None),
        ("1", "answer"),
        ("2", "reasoning"),
        ("4", None),
        ("²", None),  # a digit int() does not read
        ("2" * 5000, None),  # more digits than int() reads
        ("channel_assistant_thinking", "reasoning"),
        ("CHANNEL_ANALYSIS", "reasoning"),  # GO3's older reading, for channels the enum lacks
        ("CHANNEL_REASONING_SUMMARY", "reasoning"),
        ("CHANNEL_SUGGESTIONS", None),
        (0, None),
        (5, None),
        ("", None),
        (None, None),
        (True, None),
        (2.0, None),
        ({"name": "x"}, None),
    ],
)
def test_channel_roles(channel: Any, role: str | None) -> None:
    assert channel_role(channel) == role


def test_thinking_is_reasoning_and_notetaker_text_is_dropped() -> None:
    events = feed(
        GatewayAdapter(),
        text("Notes", "CHANNEL_NOTETAKER_HEADER"),
        text("Think", "CHANNEL_ASSISTANT_THINKING"),
        text("ing.", 2),
        text("Hello"),
        text(", world", 1),
        text("The user said hello.", "CHANNEL_NOTETAKER_SUMMARY"),
        text("summary", 4),
        DONE,
    )
    assert events == [
        ReasoningDelta("Think"),
        ReasoningDelta("ing."),
        TextDelta("Hello"),
        TextDelta(", world"),
        Finish(reason="stop"),
    ]


def test_reasoning_after_the_answer_began_stays_reasoning() -> None:
    events = feed(
        GatewayAdapter(),
        text("first thought", "CHANNEL_ASSISTANT_THINKING"),
        text("Echo:"),
        text("second thought", "CHANNEL_ASSISTANT_THINKING"),
        thinking_delta("third thought"),
        text(" rest"),
        DONE,
    )
    assert events == [
        ReasoningDelta("first thought"),
        TextDelta("Echo:"),
        ReasoningDelta("second thought"),
        ReasoningDelta("third thought"),
        TextDelta(" rest"),
        Finish(reason="stop"),
    ]


def test_reasoning_text_delta_is_reasoning() -> None:
    events = feed(
        GatewayAdapter(),
        thinking_delta("Think"),
        thinking_delta("ing."),
        ev("response.reasoning_text.delta", delta=7),  # not text: nothing
        ev("response.reasoning_text.delta"),
        ev("response.output_text.delta", delta="Hi"),
        DONE,
    )
    assert events == [
        ReasoningDelta("Think"),
        ReasoningDelta("ing."),
        TextDelta("Hi"),
        Finish(reason="stop"),
    ]


def test_show_reasoning_false_hides_every_kind_of_reasoning() -> None:
    events = feed(
        GatewayAdapter(show_reasoning=False),
        text("a", "CHANNEL_ASSISTANT_THINKING"),
        thinking_delta("b"),
        text("x"),
        text("late", 2),
        thinking_delta("later"),
        DONE,
    )
    assert events == [TextDelta("x"), Finish(reason="stop")]


# --- error code 7 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        {"code": 7, "message": ANTI_BOT},
        {"code": "7", "message": ANTI_BOT},
        {"code": "ANTI_BOT", "message": ANTI_BOT},
        {"code": "PERMISSION_DENIED", "message": ANTI_BOT},
        {"code": "anti_bot", "message": ANTI_BOT},
        {"code": 7, "message": ANTI_BOT, "details": []},
        {"code": 7},
        {"code": "internal", "message": ANTI_BOT},  # the message alone says it
    ],
)
def test_code_7_is_a_challenge_not_the_accounts_fault(error: dict[str, Any]) -> None:
    adapter = GatewayAdapter()
    adapter.feed(text("partial"))
    with pytest.raises(UpstreamStreamError) as info:
        adapter.feed(ev("error", error=error))
    assert info.value.verdict is Verdict.CHALLENGED
    assert info.value.code == "upstream_anti_bot"
    assert info.value.retryable


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        ({"code": 7, "message": BLOCKED}, Verdict.BLOCKED),  # code 7, but a blocked account
        ({"code": "PERMISSION_DENIED", "message": BLOCKED}, Verdict.BLOCKED),
        ({"code": 16, "message": "Bad credentials. [WKE=unauthenticated:bad-credentials]"},
         Verdict.EXPIRED),
        ({"code": 8, "message": "rate limited"}, Verdict.RATE_LIMITED),
        ({"code": "RESOURCE_EXHAUSTED", "message": "slow down"}, Verdict.RATE_LIMITED),
        ({"code": 16, "message": "no session"}, Verdict.EXPIRED),
        ({"code": 13, "message": "Failed to send request."}, Verdict.UNAVAILABLE),
        ({"code": False, "message": "odd"}, Verdict.UNAVAILABLE),
    ],
)  # fmt: skip
def test_other_numeric_and_named_codes(error: dict[str, Any], verdict: Verdict) -> None:
    assert gateway_error(error).verdict is verdict


def test_the_code_is_named_in_the_message() -> None:
    assert "(7)" in gateway_error({"code": 7, "message": ANTI_BOT}).message
    assert "(no code)" in gateway_error({"message": "x"}).message


# --- properties -------------------------------------------------------------------------------

ANSWER_CHANNELS = st.sampled_from(["CHANNEL_ASSISTANT_RESPONSE", 1, "1"])
THINKING_CHANNELS = st.sampled_from(["CHANNEL_ASSISTANT_THINKING", 2, "2"])
NOTE_CHANNELS = st.sampled_from(["CHANNEL_NOTETAKER_HEADER", "CHANNEL_NOTETAKER_SUMMARY", 3, 4])
PIECE = st.text(min_size=1, max_size=12)
ITEM = st.one_of(
    st.tuples(st.just("answer"), PIECE, ANSWER_CHANNELS),
    st.tuples(st.just("thinking"), PIECE, THINKING_CHANNELS),
    st.tuples(st.just("delta"), PIECE, st.none()),
    st.tuples(st.just("note"), PIECE, NOTE_CHANNELS),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ITEM, max_size=30), st.booleans())
def test_any_interleaving_keeps_kind_and_order(
    items: list[tuple[str, str, Any]], show_reasoning: bool
) -> None:
    frames = [
        thinking_delta(piece) if kind == "delta" else text(piece, ch) for kind, piece, ch in items
    ]
    events = feed(GatewayAdapter(show_reasoning=show_reasoning), *frames, DONE)
    expected: list[Any] = []
    for kind, piece, _ in items:
        if kind == "answer":
            expected.append(TextDelta(piece))
        elif kind in ("thinking", "delta") and show_reasoning:
            expected.append(ReasoningDelta(piece))
    assert events == [*expected, Finish(reason="stop")]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
KINDS = st.sampled_from(
    ["response.chunk", "response.reasoning_text.delta", "response.output_text.delta", "error",
     "response.grok.output", "response.done", "something.else"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(KINDS, st.dictionaries(st.sampled_from(
    ["chunk", "delta", "error", "output", "response", "text", "channel"]), JSON, max_size=3)),
    max_size=8), st.lists(JSON, max_size=4))  # fmt: skip
def test_arbitrary_frames_never_break_the_adapter(
    events: list[tuple[str, dict[str, Any]]], channels: list[Any]
) -> None:
    adapter = GatewayAdapter()
    frames = [ev(kind, **fields) for kind, fields in events]
    frames += [text("t", channel) for channel in channels]
    for frame in frames:
        try:
            out = adapter.feed(frame)
        except UpstreamError:
            continue
        assert all(isinstance(e, TextDelta | ReasoningDelta | Finish) or e.sources for e in out)
    for channel in channels:
        assert channel_role(channel) in ("answer", "reasoning", None)
