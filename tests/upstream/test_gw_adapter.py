"""grok.com frames → internal events (docs/grok-protocol.md §4.2–§4.6)."""

from __future__ import annotations

from typing import Any

import pytest

from grokgate.events import Finish, ReasoningDelta, SearchSource, Sources, TextDelta
from grokgate.upstream.grokweb.adapter import FrameAdapter
from tests.upstream.adapter_support import (
    SOFT_STOP,
    feed_all,
    final,
    finishes,
    reasoning,
    resp,
    texts,
    think,
)

# --- thinking vs final -----------------------------------------------------------------------


def test_thinking_and_final_are_split() -> None:
    events = feed_all(
        FrameAdapter(),
        resp(conversation={"conversationId": "c"}),
        think("Let me "),
        think("think."),
        final("Hello"),
        final(", world"),
        SOFT_STOP,
    )
    assert events == [
        ReasoningDelta("Let me "),
        ReasoningDelta("think."),
        TextDelta("Hello"),
        TextDelta(", world"),
        Finish(reason="stop", fingerprint=None),
    ]


def test_fixture_a_frames() -> None:
    adapter = FrameAdapter()
    events = feed_all(
        adapter,
        {"result": {"conversation": {"conversationId": "conv_1"}}},
        resp(userResponse={"responseId": "up_1"}),
        resp(token="thinking ", isThinking=True, messageTag="analysis"),
        final("hello", webSearchResults={"results": [{"url": "https://example.com"}]}),
    )
    assert events == [
        ReasoningDelta("thinking "),
        Sources((SearchSource("https://example.com", ""),)),
        TextDelta("hello"),
    ]
    assert not adapter.finished


def test_leading_dash_is_stripped_from_thinking_only() -> None:
    events = feed_all(FrameAdapter(), think("- step one"), think("a - b"), final("- item"))
    assert reasoning(events) == ["step one", "a - b"]
    assert texts(events) == ["- item"]


def test_exact_duplicate_thinking_is_dropped() -> None:
    events = feed_all(
        FrameAdapter(),
        think("Searching the web"),
        think("Searching the web"),
        think("- Searching the web"),  # duplicate once the dash is stripped
        think("Reading results"),
    )
    assert reasoning(events) == ["Searching the web", "Reading results"]


def test_thinking_after_final_started_is_not_emitted() -> None:
    events = feed_all(FrameAdapter(), think("a"), final("X"), think("late thought"), final("Y"))
    assert reasoning(events) == ["a"]
    assert texts(events) == ["X", "Y"]


def test_show_reasoning_false_emits_no_reasoning() -> None:
    adapter = FrameAdapter(show_reasoning=False)
    events = feed_all(
        adapter,
        think("a", rolloutId="Grok"),
        think("b", rolloutId="Agent 1"),
        resp(
            messageTag="tool_usage_card",
            token="<xai:tool_usage_card/>",
            toolUsageCard={"toolUsageCardId": "t", "webSearch": {"args": {"query": "q"}}},
        ),
        final("answer"),
        SOFT_STOP,
    )
    assert not reasoning(events)
    assert texts(events) == ["answer"]
    assert len(finishes(events)) == 1


def test_rollout_change_inserts_a_header_line_but_not_for_the_first() -> None:
    events = feed_all(
        FrameAdapter(),
        think("one", rolloutId="Grok"),
        think("two", rolloutId="Grok"),
        think("three", rolloutId="Agent 1"),
        think("four", rolloutId="Agent 1"),
        think("five", rolloutId="Grok"),
        think("six"),  # no rollout id: no header
    )
    assert reasoning(events) == [
        "one",
        "two",
        "\n[Agent 1]\n",
        "three",
        "four",
        "\n[Grok]\n",
        "five",
        "six",
    ]


def test_tool_usage_card_becomes_a_reasoning_line_with_the_query() -> None:
    frame = resp(
        messageTag="tool_usage_card",
        token="<xai:tool_usage_card><xai:tool_name>web_search</xai:tool_name></xai:tool_usage_card>",
        toolUsageCard={"toolUsageCardId": "t1", "webSearch": {"args": {"query": "grok pricing"}}},
    )
    events = FrameAdapter().feed(frame)
    assert not texts(events)
    (line,) = reasoning(events)
    assert "web_search" in line
    assert "grok pricing" in line
    assert "xai:" not in line


def test_tool_usage_card_other_tools() -> None:
    events = feed_all(
        FrameAdapter(),
        resp(
            messageTag="tool_usage_card",
            toolUsageCard={"xSearch": {"args": {"query": "from:xai"}}},
        ),
        resp(
            messageTag="tool_usage_card",
            toolUsageCard={"browsePage": {"args": {"url": "https://x.test/"}}},
        ),
    )
    lines = reasoning(events)
    assert len(lines) == 2
    assert "x_search" in lines[0] and "from:xai" in lines[0]
    assert "browse_page" in lines[1] and "https://x.test/" in lines[1]


def test_tool_usage_card_after_final_started_is_dropped() -> None:
    events = feed_all(
        FrameAdapter(),
        final("Answer"),
        resp(
            messageTag="tool_usage_card",
            toolUsageCard={"webSearch": {"args": {"query": "late"}}},
        ),
    )
    assert events == [TextDelta("Answer")]


def test_raw_function_result_and_bare_tool_card_ids_are_ignored() -> None:
    adapter = FrameAdapter()
    events = feed_all(
        adapter,
        resp(messageTag="raw_function_result", token='{"results": []}', isThinking=False),
        resp(messageTag="raw_function_result", token="raw", isThinking=True),
        resp(toolUsageCardId="t1"),
        resp(codeExecutionResult={"stdout": "1"}),
        resp(uiLayout={"reasoningUiLayout": "x"}),
    )
    assert events == []
    assert not adapter.final_started


@pytest.mark.parametrize("tag_value", ["header", "summary", "", None, "analysis"])
def test_non_thinking_tokens_with_other_tags_are_dropped(tag_value: str | None) -> None:
    frame = resp(token="Title", isThinking=False)
    if tag_value is not None:
        frame["result"]["response"]["messageTag"] = tag_value
    adapter = FrameAdapter()
    assert adapter.feed(frame) == []
    assert not adapter.final_started


# --- end of answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "end",
    [resp(isSoftStop=True), resp(finalMetadata={}), resp(finalMetadata={"x": 1}, isSoftStop=True)],
    ids=["soft-stop", "final-metadata", "both"],
)
def test_end_frames_produce_exactly_one_finish(end: dict[str, Any]) -> None:
    adapter = FrameAdapter()
    events = feed_all(
        adapter,
        final("hi", llmInfo={"modelHash": "hash-123"}),
        end,
        resp(isSoftStop=True),
        resp(finalMetadata={}),
        final("after"),
    )
    assert finishes(events) == [Finish(reason="stop", fingerprint="hash-123")]
    assert texts(events) == ["hi"]
    assert adapter.finished
    assert adapter.finish() == []


def test_soft_stop_frame_with_a_token_emits_the_token_first() -> None:
    events = FrameAdapter().feed(final("last", isSoftStop=True))
    assert events == [TextDelta("last"), Finish(reason="stop", fingerprint=None)]


def test_fingerprint_from_model_response_metadata() -> None:
    events = feed_all(
        FrameAdapter(),
        final("x"),
        resp(modelResponse={"message": "x", "metadata": {"llm_info": {"modelHash": "mh"}}}),
        resp(finalMetadata={}),
    )
    assert finishes(events)[0].fingerprint == "mh"


def test_model_response_message_is_the_text_only_when_nothing_was_streamed() -> None:
    events = feed_all(
        FrameAdapter(),
        think("hmm"),
        resp(modelResponse={"responseId": "r", "message": "Full answer.", "sender": "ASSISTANT"}),
        SOFT_STOP,
    )
    assert texts(events) == ["Full answer."]
    streamed = feed_all(
        FrameAdapter(),
        final("Streamed"),
        resp(modelResponse={"message": "Streamed answer in full"}),
        SOFT_STOP,
    )
    assert texts(streamed) == ["Streamed"]
    blank = feed_all(FrameAdapter(), resp(modelResponse={"message": "  "}), SOFT_STOP)
    assert texts(blank) == []
