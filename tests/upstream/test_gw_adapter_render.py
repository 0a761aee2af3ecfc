"""FrameAdapter: sources, <grok:render> replacement and in-band errors
(docs/grok-protocol.md §4.2-§4.6)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.errors import UpstreamError, Verdict
from grokgate.events import SearchSource, Sources
from grokgate.upstream.grokweb.adapter import FrameAdapter
from tests.upstream.adapter_support import (
    SOFT_STOP,
    URL_A,
    URL_B,
    card,
    cite_card,
    feed_all,
    final,
    resp,
    tag,
    texts,
)

# --- sources ---------------------------------------------------------------------------------


def test_web_and_x_search_results_become_sources() -> None:
    events = feed_all(
        FrameAdapter(),
        resp(
            webSearchResults={
                "results": [
                    {"url": URL_A, "title": "A", "preview": "..."},
                    {"url": URL_B, "title": "B"},
                    {"title": "no url"},
                ]
            }
        ),
        resp(
            xSearchResults={
                "results": [{"postId": "123", "username": "xai", "text": "t" * 80}, {"x": 1}]
            }
        ),
    )
    assert [e for e in events if isinstance(e, Sources)] == [
        Sources((SearchSource(URL_A, "A"), SearchSource(URL_B, "B"))),
        Sources((SearchSource("https://x.com/xai/status/123", "𝕏/@xai: " + "t" * 50),)),
    ]


def test_sources_are_deduplicated_across_frames() -> None:
    adapter = FrameAdapter()
    first = adapter.feed(resp(webSearchResults={"results": [{"url": URL_A, "title": "A"}]}))
    again = adapter.feed(
        resp(webSearchResults={"results": [{"url": URL_A, "title": "A2"}, {"url": URL_B}]})
    )
    x_once = adapter.feed(resp(xSearchResults={"results": [{"postId": "1", "username": "u"}]}))
    x_twice = adapter.feed(resp(xSearchResults={"results": [{"postId": "1", "username": "u"}]}))
    assert first == [Sources((SearchSource(URL_A, "A"),))]
    assert again == [Sources((SearchSource(URL_B, ""),))]
    assert len(x_once) == 1
    assert x_twice == []


def test_sources_are_deduplicated_within_one_frame() -> None:
    events = FrameAdapter().feed(
        resp(
            webSearchResults={"results": [{"url": URL_A, "title": "A"}, {"url": URL_A}]},
            xSearchResults={
                "results": [{"postId": "1", "username": "u"}, {"postId": "1", "username": "u"}]
            },
        )
    )
    (sources,) = [e for e in events if isinstance(e, Sources)]
    urls = [s.url for s in sources.sources]
    assert urls == [URL_A, "https://x.com/u/status/1"]


# --- <grok:render> ---------------------------------------------------------------------------


def test_inline_citation_is_replaced_using_the_card() -> None:
    events = feed_all(
        FrameAdapter(),
        cite_card("c1", URL_A),
        final(f"Fact.{tag('c1')} More."),
        SOFT_STOP,
    )
    assert "".join(texts(events)) == f"Fact. [[1]]({URL_A}) More."


def test_citations_are_numbered_in_order_of_first_appearance() -> None:
    events = feed_all(
        FrameAdapter(),
        cite_card("c1", URL_A),
        cite_card("c2", URL_B),
        cite_card("c3", URL_A),  # another card, same url
        final(f"x{tag('c2')} y{tag('c1')} z{tag('c2')} w{tag('c3')}."),
        SOFT_STOP,
    )
    assert "".join(texts(events)) == (
        f"x [[1]]({URL_B}) y [[2]]({URL_A}) z [[1]]({URL_B}) w [[2]]({URL_A})."
    )


def test_consecutive_duplicate_citations_collapse() -> None:
    events = feed_all(
        FrameAdapter(),
        cite_card("c1", URL_A),
        cite_card("c1b", URL_A),
        cite_card("c2", URL_B),
        final(f"a{tag('c1')}{tag('c1b')}{tag('c1')} b{tag('c2')}{tag('c2')}"),
        final(tag("c2")),  # still consecutive, in the next token
        SOFT_STOP,
    )
    assert "".join(texts(events)) == f"a [[1]]({URL_A}) b [[2]]({URL_B})"


def test_citation_card_in_card_attachments_list_and_dict_json_data() -> None:
    events = feed_all(
        FrameAdapter(),
        resp(cardAttachments=[{"jsonData": json.dumps({"id": "c1", "url": URL_A})}]),
        resp(cardAttachment={"jsonData": {"id": "c2", "url": URL_B}}),
        resp(cardAttachment={"jsonData": "{not json"}),
        final(f"p{tag('c1')} q{tag('c2')}"),
        SOFT_STOP,
    )
    assert "".join(texts(events)) == f"p [[1]]({URL_A}) q [[2]]({URL_B})"


def test_render_tag_for_an_unknown_card_is_removed() -> None:
    events = feed_all(FrameAdapter(), final(f"a{tag('nope')}b"), SOFT_STOP)
    assert "".join(texts(events)) == "ab"


def test_searched_image_becomes_a_markdown_image_link() -> None:
    image = {"title": "Cat", "thumbnail": "https://t.test/cat.jpg", "link": "https://l.test/cat"}
    events = feed_all(
        FrameAdapter(),
        card("img1", type="render_searched_image", image=image),
        final(f"Look: {tag('img1', 'render_searched_image')}!"),
        SOFT_STOP,
    )
    assert "".join(texts(events)) == ("Look: [![Cat](https://t.test/cat.jpg)](https://l.test/cat)!")


def test_generated_image_and_render_file_tags_are_removed() -> None:
    events = feed_all(
        FrameAdapter(),
        card(
            "g1",
            type="render_file",
            cardType="generated_image_card",
            image_chunk={"imageUuid": "u", "imageUrl": "users/x/generated/u/image.jpg"},
        ),
        final(f"Here{tag('g1', 'render_generated_image')} it is{tag('g1', 'render_file')}."),
        SOFT_STOP,
    )
    assert "".join(texts(events)) == "Here it is."


def test_text_is_held_back_while_a_tag_may_be_open() -> None:
    adapter = FrameAdapter()
    adapter.feed(cite_card("c1", URL_A))
    full = f"ok{tag('c1')}done"
    first = adapter.feed(final(full[:5]))  # "ok<gr"
    assert texts(first) == ["ok"]
    middle = adapter.feed(final(full[5:30]))
    assert texts(middle) == []
    rest = adapter.feed(final(full[30:]))
    assert texts(rest) == [f" [[1]]({URL_A})done"]


def test_a_lone_less_than_sign_is_released() -> None:
    events = feed_all(FrameAdapter(), final("a <"), final(" b"), final("x <"), SOFT_STOP)
    assert "".join(texts(events)) == "a < bx <"


def test_an_unclosed_render_tag_at_the_end_leaks_no_markup() -> None:
    events = feed_all(
        FrameAdapter(),
        cite_card("c1", URL_A),
        final('Answer.<grok:render card_id="c1" card_type="citation_card" type="render_inline'),
        SOFT_STOP,
    )
    out = "".join(texts(events))
    assert out.startswith("Answer.")
    for fragment in ("<grok", "card_id", "card_type", "render_inline", '="'):
        assert fragment not in out


_PLAIN = st.text(
    st.one_of(st.characters(codec="utf-8", exclude_characters="<>"), st.sampled_from(" .[]()")),
    max_size=12,
).filter(lambda t: not any(f in t for f in ("grok", "card_id", "argument", "render_")))
_IMAGE = {"title": "Cat", "thumbnail": "https://t.test/c.jpg", "link": "https://l.test/c"}
_CARDS = (
    cite_card("c1", URL_A),
    cite_card("c2", URL_B),
    card("img", type="render_searched_image", image=_IMAGE),
    card("gen", type="render_file", image_chunk={"imageUrl": "users/x/g.jpg"}),
)
_KINDS = {"img": "render_searched_image", "gen": "render_generated_image"}
_CITES = {"c1": URL_A, "c2": URL_B}


def _expected(names: list[str]) -> list[str]:
    """What each tag renders to, numbering citations by first appearance (computed here)."""
    order: list[str] = []
    out = []
    for name in names:
        if name in _CITES:
            order.append(_CITES[name])
            out.append(f" [[{len(order)}]]({_CITES[name]})")
        elif name == "img":
            out.append("[![Cat](https://t.test/c.jpg)](https://l.test/c)")
        else:
            out.append("")
    return out


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.sampled_from(["c1", "c2", "img", "gen"]), min_size=1, max_size=2, unique=True
    ),
    plain=st.lists(_PLAIN, min_size=3, max_size=3),
    cuts=st.lists(st.integers(0, 10_000), max_size=15),
)
def test_split_render_tags_are_never_emitted_partially(
    names: list[str], plain: list[str], cuts: list[int]
) -> None:
    raw = rendered = plain[0]
    for i, (name, shown) in enumerate(zip(names, _expected(names), strict=True)):
        raw += tag(name, _KINDS.get(name, "render_inline_citation"), n=i) + plain[i + 1]
        rendered += shown + plain[i + 1]
    points = sorted({c % (len(raw) + 1) for c in cuts} | {0, len(raw)})
    tokens = [raw[a:b] for a, b in itertools.pairwise(points)]

    adapter = FrameAdapter()
    feed_all(adapter, *_CARDS)
    out: list[str] = []
    for token in tokens:
        out += texts(adapter.feed(final(token)))
    out += texts(adapter.feed(SOFT_STOP))
    assert "".join(out) == rendered
    for piece in out:
        assert piece  # no empty deltas
        assert "<" not in piece and ">" not in piece, piece
        for fragment in ("grok", "card_id", "argument", "render_"):
            assert fragment not in piece, piece


# --- in-band errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "verdict"),
    [
        (
            {"error": {"code": 7, "message": "Request rejected by anti-bot rules.", "details": []}},
            Verdict.CHALLENGED,
        ),
        ({"error": {"code": 7, "message": "rejected"}}, Verdict.CHALLENGED),
        ({"error": {"code": 8, "message": "rate limited"}}, Verdict.RATE_LIMITED),
        ({"error": {"code": 2, "message": "Too many requests"}}, Verdict.RATE_LIMITED),
        ({"error": {"code": 13, "message": "Failed to send request."}}, Verdict.UNAVAILABLE),
        (
            resp(
                error={
                    "message": "Model not available",
                    "modelNotAvailable": {},
                    "severity": "STREAM_ERROR_SEVERITY_NORMAL",
                }
            ),
            Verdict.MODE_UNAVAILABLE,
        ),
        (
            resp(
                error={
                    "message": "ResourceExhausted: rejected by perf_based_admission_controller",
                    "severity": "STREAM_ERROR_SEVERITY_NORMAL",
                }
            ),
            Verdict.UNAVAILABLE,
        ),
        (
            {
                "error": {
                    "code": 7,
                    "message": "User is blocked: Bot abuse - free tier account "
                    "[WKE=unauthorized:blocked-user]",
                }
            },
            Verdict.BLOCKED,
        ),
        (resp(error={"message": "blocked-user"}), Verdict.BLOCKED),
    ],
    ids=[
        "anti-bot-7",
        "code-7",
        "code-8",
        "too-many",
        "code-13",
        "model-not-available",
        "resource-exhausted",
        "blocked-top",
        "blocked-nested",
    ],
)
def test_in_band_errors(frame: dict[str, Any], verdict: Verdict) -> None:
    adapter = FrameAdapter()
    adapter.feed(final("partial"))
    with pytest.raises(UpstreamError) as info:
        adapter.feed(frame)
    assert info.value.verdict is verdict
    assert "<" not in info.value.message


def test_mode_unavailable_has_its_code() -> None:
    with pytest.raises(UpstreamError) as info:
        FrameAdapter().feed(resp(error={"message": "no", "modelNotAvailable": {}}))
    assert info.value.code == "upstream_mode_unavailable"
