"""GatewayAdapter: WebSocket gateway frames → events, the same as the REST FrameAdapter's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.errors import UpstreamError, UpstreamStreamError, Verdict
from grokgate.events import Finish, ReasoningDelta, SearchSource, Sources, TextDelta
from grokgate.upstream.grokweb.adapter import FrameAdapter
from grokgate.upstream.grokweb.gateway_adapter import GatewayAdapter, gateway_error
from tests.upstream.adapter_support import (
    SOFT_STOP,
    URL_A,
    URL_B,
    cite_card,
    final,
    reasoning,
    resp,
    tag,
    texts,
    think,
)

ANSWER = "CHANNEL_ASSISTANT_RESPONSE"
ANALYSIS = "CHANNEL_ANALYSIS"
DONE = {"event": {"type": "response.done", "response": {"id": "response-1", "status": "completed"}}}


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"session_id": "s1", "event": {"type": kind, **fields}}


def chunk(**fields: Any) -> dict[str, Any]:
    return ev("response.chunk", response_id="r1", chunk=fields)


def text(tok: str, channel: str = ANSWER) -> dict[str, Any]:
    return chunk(text={"text": tok, "channel": channel})


def cite(url: str, n: str = "1", kind: str = "CITATION_KIND_WEB_PAGE") -> dict[str, Any]:
    return chunk(render_citation={"id": f"c{n}", "kind": kind, "url": url, "citation_id": n})


def search_card(query: str, key: str = "web_search") -> dict[str, Any]:
    return chunk(tool_usage_card={"tool_usage_card_id": "t1", key: {"args": {"query": query}}})


def feed(adapter: GatewayAdapter, *frames: dict[str, Any]) -> list[Any]:
    return [event for frame in frames for event in adapter.feed(frame)]


# --- the docs/grok-protocol.md §5.7 fixture --------------------------------------------------

FIXTURE_C_TEXT = """
{"event":{"type":"conversation.attached","conversation":{"id":"conversation-1"}}}
{"event":{"type":"response.chunk","chunk":{"text":{"text":"TOKEN","channel":"CHANNEL_ASSISTANT_RESPONSE"}}}}
{"event":{"type":"response.chunk","chunk":{"text":{"text":"LESS","channel":"CHANNEL_ASSISTANT_RESPONSE"}}}}
{"event":{"type":"response.chunk","chunk":{"text":{"text":"thought","channel":"CHANNEL_ANALYSIS"}}}}
{"event":{"type":"response.done","response":{"id":"response-1","status":"completed"}}}
"""  # verbatim from docs/grok-protocol.md §5.7
FIXTURE_C = [json.loads(line) for line in FIXTURE_C_TEXT.strip().splitlines()]


def test_research_fixture_c() -> None:
    adapter = GatewayAdapter()
    events = feed(adapter, *FIXTURE_C)
    # reasoning that arrives after the answer began stays reasoning (GO3 keeps it too)
    assert events == [
        TextDelta("TOKEN"),
        TextDelta("LESS"),
        ReasoningDelta("thought"),
        Finish(reason="stop"),
    ]
    assert adapter.finished
    assert adapter.feed(text("late")) == []


def test_reasoning_channels_and_ignored_channels() -> None:
    events = feed(
        GatewayAdapter(),
        text("a", ANALYSIS),
        text("b", "CHANNEL_REASONING_SUMMARY"),
        text("ignored", "CHANNEL_SUGGESTIONS"),
        text("answer"),
        DONE,
    )
    assert reasoning(events) == ["a", "b"]
    assert texts(events) == ["answer"]


def test_show_reasoning_false_hides_reasoning_and_tool_lines() -> None:
    events = feed(
        GatewayAdapter(show_reasoning=False), text("a", ANALYSIS), search_card("q"), text("x")
    )
    assert events == [TextDelta("x")]


def test_setup_and_unknown_events_give_nothing() -> None:
    adapter = GatewayAdapter()
    frames = [
        ev("session.created", client_event_id="evt_init_1", session={"id": "s1"}),
        ev("response.created", response={"id": "r1", "status": "in_progress"}),
        ev("something.new", x=1),
        {"no_event": True},
        {"event": "not an object"},
        chunk(text={"text": 5, "channel": ANSWER}),
        ev("response.grok.output", output={"card_attachment": {"jsonData": "{}"}}),
    ]
    assert feed(adapter, *frames) == []
    assert not adapter.finished


# --- tool cards, citations, sources -----------------------------------------------------------


def test_tool_cards_become_reasoning_lines_only_before_the_answer() -> None:
    events = feed(
        GatewayAdapter(),
        search_card("grok news"),
        search_card("from:xai", key="x_search"),
        chunk(tool_usage_card={"tool_usage_card_id": "t3", "unknown_tool": {"args": {}}}),
        text("answer"),
        search_card("too late"),
    )
    assert reasoning(events) == ["\n🔍 web_search: grok news\n", "\n🔍 x_search: from:xai\n"]


def test_citations_are_numbered_by_first_appearance_and_repeats_collapse() -> None:
    events = feed(
        GatewayAdapter(),
        text("One"),
        cite(URL_A),
        cite(URL_A),  # identical to the previous one: collapses
        text(" two"),
        cite(URL_B, "2"),
        text(" three"),
        cite(URL_A, "3", kind="CITATION_KIND_X_POST"),
        chunk(render_citation={"id": "c9", "citation_id": "9"}),  # no url: nothing
        DONE,
    )
    assert "".join(texts(events)) == (f"One [[1]]({URL_A}) two [[2]]({URL_B}) three [[1]]({URL_A})")


def test_tool_results_and_search_results_become_deduplicated_sources() -> None:
    webpages = [
        {"url": URL_A, "title": "A", "snippet": "..."},
        {"url": URL_B, "title": "B"},
        {"title": "no url"},
    ]
    posts = [{"userhandle": "xai", "name": "xAI", "text": "t" * 80, "post_id": "123"}, {"x": 1}]
    events = feed(
        GatewayAdapter(),
        chunk(tool_result={"tool_call_id": "t1", "web_search": {"webpages": webpages}}),
        chunk(tool_result={"tool_call_id": "t2", "x_post": {"posts": posts}}),
        chunk(tool_result={"tool_call_id": "t1", "web_search": {"webpages": webpages[:1]}}),
        ev("response.search.result", result={"url": URL_A, "title": "again"}),
        ev("response.search.result", result={"url": "https://c.example/", "title": "C"}),
        ev("response.search.result", result={"title": "no url"}),
    )
    assert [e for e in events if isinstance(e, Sources)] == [
        Sources((SearchSource(URL_A, "A"), SearchSource(URL_B, "B"))),
        Sources((SearchSource("https://x.com/xai/status/123", "𝕏/@xai: " + "t" * 50),)),
        Sources((SearchSource("https://c.example/", "C"),)),
    ]


PAGE_A = {"url": URL_A, "title": "A", "snippet": "s"}


def test_same_events_as_the_rest_adapter_for_the_same_answer() -> None:
    rest = FrameAdapter()
    rest_events = [
        event
        for frame in (
            think("Thinking "),
            think("hard."),
            resp(webSearchResults={"results": [{"url": URL_A, "title": "A"}]}),
            cite_card("c1", URL_A),
            final("Echo:"),
            final(tag("c1")),
            final(" done"),
            SOFT_STOP,
        )
        for event in rest.feed(frame)
    ]
    ws_events = feed(
        GatewayAdapter(),
        text("Thinking ", ANALYSIS),
        text("hard.", ANALYSIS),
        chunk(tool_result={"tool_call_id": "t", "web_search": {"webpages": [PAGE_A]}}),
        text("Echo:"),
        cite(URL_A),
        text(" done"),
        DONE,
    )
    assert ws_events == rest_events


# --- alternative text events ------------------------------------------------------------------


def test_output_text_delta_and_done() -> None:
    events = feed(
        GatewayAdapter(),
        ev("response.output_text.delta", delta="Hel"),
        ev("response.output_text.delta", delta="lo"),
        ev("response.output_text.done", text="Hello"),  # already streamed: not repeated
        DONE,
    )
    assert texts(events) == ["Hel", "lo"]


def test_output_text_done_is_the_answer_when_nothing_was_streamed() -> None:
    events = feed(
        GatewayAdapter(),
        text("r", ANALYSIS),
        ev("response.output_text.done", text="Whole answer"),
        DONE,
    )
    assert events == [ReasoningDelta("r"), TextDelta("Whole answer"), Finish(reason="stop")]
    assert texts(feed(GatewayAdapter(), ev("response.output_text.done", text="  "))) == []


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=60), st.data())
def test_any_split_of_the_answer_gives_the_same_text(answer: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(answer) - 1)), max_size=8)))
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    use_delta = data.draw(st.booleans())
    frames = [ev("response.output_text.delta", delta=p) if use_delta else text(p) for p in pieces]
    events = feed(GatewayAdapter(), *frames, DONE)
    assert "".join(texts(events)) == answer
    assert events[-1] == Finish(reason="stop")


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "verdict", "retryable"),
    [
        ({"code": "anti_bot", "message": "Request rejected by anti-bot rules."},
         Verdict.CHALLENGED, True),
        ({"code": "rate_limited", "message": "rate limited"}, Verdict.RATE_LIMITED, True),
        ({"code": "unauthenticated", "message": "no session"}, Verdict.EXPIRED, True),
        ({"code": "blocked", "message": "blocked"}, Verdict.BLOCKED, True),
        ({"code": "model_not_available", "message": "Model not available for this account"},
         Verdict.MODE_UNAVAILABLE, True),
        ({"code": "invalid_argument", "message": "no text chunk"}, Verdict.UNAVAILABLE, False),
        ({"code": "internal", "message": "boom"}, Verdict.UNAVAILABLE, True),
        ({}, Verdict.UNAVAILABLE, True),
        ("just a string", Verdict.UNAVAILABLE, True),
    ],
)  # fmt: skip
def test_error_codes_map_to_verdicts(error: Any, verdict: Verdict, retryable: bool) -> None:
    adapter = GatewayAdapter()
    adapter.feed(text("partial"))
    with pytest.raises(UpstreamStreamError) as info:
        adapter.feed(ev("error", error=error))
    assert info.value.verdict is verdict
    assert info.value.retryable is retryable


def test_rate_limited_carries_retry_after() -> None:
    err = gateway_error({"code": "rate_limited", "message": "m", "retry_after_seconds": 42})
    assert err.verdict is Verdict.RATE_LIMITED and err.retry_after == 42
    assert "m" in err.message
    assert gateway_error({"code": "rate_limited", "retry_after_seconds": "x"}).retry_after is None


@pytest.mark.parametrize(
    ("stream_error", "verdict"),
    [
        ({"message": "ResourceExhausted: perf_based_admission_controller",
          "severity": "STREAM_ERROR_SEVERITY_NORMAL"}, Verdict.UNAVAILABLE),
        ({"message": "Too many requests", "severity": "x"}, Verdict.RATE_LIMITED),
        ({"message": "usage limit reached"}, Verdict.RATE_LIMITED),
        ({"message": "User is blocked [WKE=unauthorized:blocked-user]"}, Verdict.BLOCKED),
    ],
)  # fmt: skip
def test_stream_errors_are_classified_like_rest(stream_error: Any, verdict: Verdict) -> None:
    with pytest.raises(UpstreamError) as info:
        GatewayAdapter().feed(ev("response.grok.output", output={"stream_error": stream_error}))
    assert info.value.verdict is verdict
    with pytest.raises(UpstreamError) as rest:
        FrameAdapter().feed(resp(error=stream_error))
    assert rest.value.verdict is verdict


@pytest.mark.parametrize(
    ("response", "said"),
    [
        ({"id": "r1", "status": "failed", "status_details": {"message": "model crashed"}},
         "'failed': model crashed"),
        ({"id": "r1", "status": "incomplete"}, "'incomplete'"),
        ({"id": "r1"}, "None"),
    ],
)  # fmt: skip
def test_response_done_not_completed_is_an_error(response: dict[str, Any], said: str) -> None:
    adapter = GatewayAdapter()
    with pytest.raises(UpstreamStreamError, match=said) as info:
        adapter.feed(ev("response.done", response=response))
    assert info.value.verdict is Verdict.UNAVAILABLE
    assert not adapter.finished


def test_session_ended_before_done_is_an_error() -> None:
    adapter = GatewayAdapter()
    adapter.feed(text("half"))
    with pytest.raises(UpstreamStreamError, match="server_shutdown") as info:
        adapter.feed(ev("session.ended", reason="server_shutdown"))
    assert info.value.verdict is Verdict.UNAVAILABLE
