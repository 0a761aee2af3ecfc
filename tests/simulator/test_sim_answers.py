"""Deterministic answer text of the simulator."""

from __future__ import annotations

import hashlib
import json

import pytest

from grokgate.simulator.answers import (
    SEARCH_URLS,
    answer_frames,
    build_answer,
    card_id,
    final_text,
    last_user_text,
    rendered_text,
    split_tokens,
    thinking_text,
)


def _sha(message: str) -> str:
    return hashlib.sha256(message.encode()).hexdigest()[:10]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("[user]: hi", "hi"),
        ("plain text without roles", "plain text without roles"),
        ("[system]: be brief\n\n[user]: first\n\n[assistant]: ok\n\n[user]: second", "second"),
        ("[user]: one\n\n[assistant]: reply", "one"),
        ("[user]: line one\n\nline two", "line one\n\nline two"),
        ("[system]: only system", "[system]: only system"),
        ("[user]: a\n\n[tool result for call_1]:\n{}", "a"),
    ],
)
def test_last_user_text(message: str, expected: str) -> None:
    assert last_user_text(message) == expected


def test_final_text_formula() -> None:
    message = "[system]: sys\n\n[user]: Hello there"
    assert final_text(message) == f"Echo: Hello there [sha:{_sha(message)}]"
    answer = build_answer(message, "auto")
    assert "".join(answer.final) == answer.text == final_text(message)
    assert answer.final[0] == "Echo: "
    assert rendered_text(message) == final_text(message)


@pytest.mark.parametrize(
    "text", ["", " lead", "trail  ", "tabs\tand\nnewlines", "ünïcödé 🚀 文字", "  many   spaces "]
)
def test_tokens_join_exactly(text: str) -> None:
    message = f"[user]: {text}"
    assert "".join(split_tokens(text)) == text
    answer = build_answer(message, "expert")
    assert "".join(answer.final) == f"Echo: {text} [sha:{_sha(message)}]"


def test_thinking_per_mode() -> None:
    message = "[user]: ünï"
    assert thinking_text(message, "fast") == ""
    assert build_answer(message, "fast").thinking == []
    for mode in ("auto", "expert", "heavy", "grok-420-computer-use-sa"):
        tokens = build_answer(message, mode).thinking
        assert "".join(tokens) == "Thinking about 3 characters."
        assert len(tokens) > 1


def test_search_answer() -> None:
    message = "[user]: please SEARCH the web"
    cid = card_id(message)
    tag = (
        f'<grok:render card_id="{cid}" card_type="citation_card" type="render_inline_citation">'
        '<argument name="citation_id">0</argument></grok:render>'
    )
    answer = build_answer(message, "auto")
    assert answer.final[:3] == ["Echo:", tag, " "]
    assert answer.text == f"Echo:{tag} please SEARCH the web [sha:{_sha(message)}]"
    assert "".join(answer.final) == answer.text
    assert rendered_text(message) == (
        f"Echo: [[1]](https://example.com/grok-sim/1) please SEARCH the web [sha:{_sha(message)}]"
    )
    assert answer.search is not None and [r["url"] for r in answer.search] == list(SEARCH_URLS)
    assert json.loads(answer.card_json or "") == {
        "id": cid,
        "type": "render_inline_citation",
        "cardType": "citation_card",
        "url": "https://example.com/grok-sim/1",
    }


@pytest.mark.parametrize("text", ["researching", "searchable", "no trigger"])
def test_search_needs_the_word(text: str) -> None:
    assert build_answer(f"[user]: {text}", "auto").search is None


def test_search_only_in_last_user_turn() -> None:
    message = "[user]: search something\n\n[assistant]: ok\n\n[user]: thanks"
    assert build_answer(message, "auto").search is None


def test_frames_order() -> None:
    frames = answer_frames(
        "[user]: search it",
        "auto",
        user_response_id="u1",
        response_id="r1",
        create_time="t0",
        end_time="t1",
    )
    kinds = [next(iter(f["result"]["response"])) for f in frames]
    assert kinds[:2] == ["userResponse", "llmInfo"]
    assert kinds[-2:] == ["modelResponse", "finalMetadata"]
    first_final = next(
        i for i, f in enumerate(frames) if f["result"]["response"].get("messageTag") == "final"
    )
    assert kinds.index("webSearchResults") < first_final
    card_at = kinds.index("cardAttachment")
    assert "<grok:render" in frames[card_at + 1]["result"]["response"]["token"]
