"""Citations and output limits on Chat Completions, through the official openai SDK."""

from __future__ import annotations

from grokgate.simulator.answers import SEARCH_URLS, rendered_text
from tests.sdk import openai_client as client

MODEL = "grok-4.20-0309-non-reasoning"


def test_search_citations_are_links_and_annotations(gateway: str) -> None:
    ask = "please search the web"
    out = client(gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ask}]
    )
    message = out.choices[0].message
    assert message.content == rendered_text(f"[user]: {ask}")
    (note,) = message.annotations or []
    cite = note.url_citation
    assert message.content[cite.start_index : cite.end_index] == f"[[1]]({SEARCH_URLS[0]})"
    assert (cite.url, cite.title) == (SEARCH_URLS[0], "Grok simulator result one")


def test_streamed_citations_arrive_on_the_finishing_chunk(gateway: str) -> None:
    ask = "search for me"
    text, notes = "", []
    for chunk in client(gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ask}], stream=True
    ):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            notes += (chunk.choices[0].delta.model_extra or {}).get("annotations") or []
    assert text == rendered_text(f"[user]: {ask}")
    (note,) = notes
    span = note["url_citation"]
    assert text[span["start_index"] : span["end_index"]] == f"[[1]]({SEARCH_URLS[0]})"


def test_max_tokens_cuts_with_finish_reason_length(gateway: str) -> None:
    c = client(gateway)
    ask = [{"role": "user", "content": "a fairly long question about many things"}]
    out = c.chat.completions.create(model=MODEL, messages=ask, max_tokens=2)
    assert out.choices[0].finish_reason == "length"
    full = rendered_text(f"[user]: {ask[0]['content']}")
    assert out.choices[0].message.content and full.startswith(out.choices[0].message.content)
    assert len(out.choices[0].message.content) < len(full)
    finishes = [
        ch.choices[0].finish_reason
        for ch in c.chat.completions.create(model=MODEL, messages=ask, max_tokens=2, stream=True)
        if ch.choices and ch.choices[0].finish_reason
    ]
    assert finishes == ["length"]
