"""Framing of grok.com's streamed answers (docs/grok-protocol.md §4.1, fixtures from §4.7)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.upstream.grokweb.ndjson import FrameParser, aiter_frames, parse_all

# §4.7 (a), verbatim
FIXTURE_A = (
    'data: {"result":{"conversation":{"conversationId":"conv_1"}}}\n'
    'data: {"result":{"response":{"userResponse":{"responseId":"up_1"}}}}\n'
    'data: {"result":{"response":{"token":"thinking ","isThinking":true,'
    '"messageTag":"analysis"}}}\n'
    'data: {"result":{"response":{"token":"hello","isThinking":false,"messageTag":"final",'
    '"webSearchResults":{"results":[{"url":"https://example.com"}]}}}}\n'
    "data: [DONE]\n"
)
FRAMES_A = [
    {"result": {"conversation": {"conversationId": "conv_1"}}},
    {"result": {"response": {"userResponse": {"responseId": "up_1"}}}},
    {"result": {"response": {"token": "thinking ", "isThinking": True, "messageTag": "analysis"}}},
    {
        "result": {
            "response": {
                "token": "hello",
                "isThinking": False,
                "messageTag": "final",
                "webSearchResults": {"results": [{"url": "https://example.com"}]},
            }
        }
    },
]

# §4.7 (b), verbatim
FIXTURE_B = (
    '{"result":{"conversation":{"conversationId":"conversation_1"}}}{"result":{"response":'
    '{"streamingVideoGenerationResponse":{"videoId":"video_1","progress":1,"videoPostId":'
    '"post_1","resolutionName":"720p"}}}}{"result":{"response":{"streamingVideoGenerationResponse"'
    ':{"videoId":"video_1","progress":95,"videoPostId":"post_1"}}}}{"result":{"response":'
    '{"streamingVideoGenerationResponse":{"videoId":"video_1","progress":100,"assetId":"video_1",'
    '"videoPostId":"post_1","videoUrl":"users/user_1/generated/video_1/generated_video.mp4",'
    '"thumbnailImageUrl":"users/user_1/generated/video_1/preview_image.jpg","moderated":false}}}}'
    '{"result":{"response":{"token":"I generated a video","isSoftStop":true}}}'
)


def _video(**fields: Any) -> dict[str, Any]:
    return {"result": {"response": {"streamingVideoGenerationResponse": fields}}}


FRAMES_B = [
    {"result": {"conversation": {"conversationId": "conversation_1"}}},
    _video(videoId="video_1", progress=1, videoPostId="post_1", resolutionName="720p"),
    _video(videoId="video_1", progress=95, videoPostId="post_1"),
    _video(
        videoId="video_1",
        progress=100,
        assetId="video_1",
        videoPostId="post_1",
        videoUrl="users/user_1/generated/video_1/generated_video.mp4",
        thumbnailImageUrl="users/user_1/generated/video_1/preview_image.jpg",
        moderated=False,
    ),
    {"result": {"response": {"token": "I generated a video", "isSoftStop": True}}},
]


def _parse(text: str) -> list[dict[str, Any]]:
    return list(parse_all([text.encode()]))


def test_fixture_a_sse_style() -> None:
    parser = FrameParser()
    assert parser.feed(FIXTURE_A) == FRAMES_A
    assert parser.done
    assert parser.skipped == 0
    assert _parse(FIXTURE_A) == FRAMES_A


def test_fixture_b_concatenated_objects() -> None:
    parser = FrameParser()
    assert parser.feed(FIXTURE_B) == FRAMES_B
    assert not parser.done
    assert parser.skipped == 0


def test_fixtures_byte_by_byte() -> None:
    for fixture, frames in ((FIXTURE_A, FRAMES_A), (FIXTURE_B, FRAMES_B)):
        data = fixture.encode()
        assert list(parse_all(data[i : i + 1] for i in range(len(data)))) == frames


def test_plain_ndjson() -> None:
    frames = [{"a": 1}, {"b": [1, 2, {"c": None}]}, {"d": "x"}]
    text = "".join(json.dumps(f) + "\n" for f in frames)
    assert _parse(text) == frames
    # no trailing newline: the last object is complete anyway
    assert _parse(text.rstrip("\n")) == frames


def test_sse_syntax_lines_are_skipped_not_counted() -> None:
    text = (
        ": a comment\n"
        "event: message\n"
        "id: 42\n"
        "retry: 1000\n"
        'data: {"a": 1}\n'
        "\n"
        "event:update\r\n"
        'data:{"b": 2}\r\n'
        "\r\n"
        '  {"c": 3}  \n'
    )
    parser = FrameParser()
    assert parser.feed(text) == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert parser.skipped == 0


def test_done_stops_and_later_frames_are_ignored() -> None:
    parser = FrameParser()
    out = parser.feed('{"a": 1}\ndata: [DONE]\n{"b": 2}\n')
    assert out == [{"a": 1}]
    assert parser.done
    assert parser.feed('{"c": 3}\n') == []
    assert parser.feed_bytes(b'{"d": 4}\n') == []


def test_done_without_prefix_and_without_newline() -> None:
    parser = FrameParser()
    assert parser.feed('{"a": 1}\n[DONE]') == [{"a": 1}]
    assert parser.done
    assert _parse('{"a": 1}\ndata: [DONE]') == [{"a": 1}]


def test_done_split_across_chunks() -> None:
    chunks = [b'{"a": 1}\ndata: [DO', b"NE]\n", b'{"b": 2}\n']
    assert list(parse_all(chunks)) == [{"a": 1}]


def test_garbage_lines_are_counted_and_do_not_break_later_frames() -> None:
    parser = FrameParser()
    text = (
        "hello world\n"
        '{"a": 1}\n'
        "<html><body>oops</body></html>\n"
        "data: not json\n"
        "[1, 2, 3]\n"
        "{not json}\n"
        '{"b": 2}\n'
    )
    assert parser.feed(text) == [{"a": 1}, {"b": 2}]
    assert parser.skipped == 5


def test_a_truncated_json_line_does_not_swallow_the_following_frames() -> None:
    # An object cut off at its line end (NDJSON: one object per line) is garbage; the frames
    # on the following lines must still come through.
    parser = FrameParser()
    frames = parser.feed('{"a": 1}\n{"result": {"response": \n{"b": 2}\n{"c": 3}\n')
    frames += parser.feed("\n")
    assert frames == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert parser.skipped == 1


def test_non_object_json_values_are_not_frames() -> None:
    parser = FrameParser()
    assert parser.feed('"text"\n42\nnull\ntrue\n{"ok": true}\n') == [{"ok": True}]
    assert parser.skipped == 4


def test_braces_and_escaped_quotes_inside_strings() -> None:
    frames = [
        {"t": "a}b"},
        {"t": '"{'},
        {"t": "}}}{{{"},
        {"t": "\\"},
        {"t": '\\"}'},
        {"t": "back\\slash\\\\", "u": "{[]}"},
        {"nested": {"deep": {"s": "}{"}}},
    ]
    for render in (json.dumps, lambda f: "data: " + json.dumps(f)):
        text = "".join(render(f) + "\n" for f in frames)
        assert _parse(text) == frames
    assert _parse("".join(json.dumps(f) for f in frames)) == frames


def test_multibyte_utf8_split_across_chunks() -> None:
    frame = {"t": "héllo → 世界 😀 𝕏", "k": "ключ"}
    data = (json.dumps(frame, ensure_ascii=False) + "\n").encode()
    for cut in range(1, len(data)):
        assert list(parse_all([data[:cut], data[cut:]])) == [frame], cut
    # one byte at a time
    assert list(parse_all(data[i : i + 1] for i in range(len(data)))) == [frame]


def test_incremental_feed_returns_frames_as_they_complete() -> None:
    parser = FrameParser()
    assert parser.feed('{"a": {"b"') == []
    assert parser.feed(": 1}") == []
    assert parser.feed("}") == [{"a": {"b": 1}}]
    assert parser.feed('\ndata: {"c"') == []
    assert parser.feed(": 2}\n") == [{"c": 2}]


# --- property: every framing, every split --------------------------------------------------

_TEXT = st.lists(
    st.one_of(
        st.sampled_from([*'{}[]"\\:,\n\r\t /', "data:", "[DONE]", "é", "世", "😀", "\u2028"]),
        st.characters(codec="utf-8"),
    ),
    max_size=6,
).map("".join)
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), _TEXT)
_JSON = st.recursive(
    _LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=6,
)
_FRAMES = st.lists(st.dictionaries(_TEXT, _JSON, max_size=3), max_size=4)


def _render(frames: list[dict[str, Any]], framing: str, ascii_only: bool) -> bytes:
    dumps = [json.dumps(f, ensure_ascii=ascii_only) for f in frames]
    if framing == "ndjson":
        text = "".join(d + "\n" for d in dumps)
    elif framing == "sse":
        text = "".join(f"data: {d}\n\n" for d in dumps) + "data: [DONE]\n"
    elif framing == "concatenated":
        text = "".join(dumps)
    else:  # mixed: CRLF, bare and prefixed lines, SSE noise
        parts = []
        for i, d in enumerate(dumps):
            parts.append(["", "data:", "data: ", "event: x\r\ndata:"][i % 4] + d + "\r\n")
        text = ": hi\r\n" + "".join(parts)
    return text.encode()


@settings(max_examples=150, deadline=None)
@given(frames=_FRAMES, cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_framing_any_split_yields_the_original_frames(
    frames: list[dict[str, Any]], cuts: list[int]
) -> None:
    # each example checks every framing, with and without raw (non-ASCII) UTF-8
    for framing in ("ndjson", "sse", "concatenated", "mixed"):
        for ascii_only in (False, True):
            data = _render(frames, framing, ascii_only)
            points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
            chunks = [data[a:b] for a, b in itertools.pairwise(points)]
            parser = FrameParser()
            got = [f for chunk in chunks for f in parser.feed_bytes(chunk)] + parser.feed("\n")
            assert got == frames, (framing, ascii_only)
            assert parser.skipped == 0
            assert list(parse_all(chunks)) == frames


# --- async ---------------------------------------------------------------------------------


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_aiter_frames_over_async_chunks() -> None:
    for size in (1, 3, 7, 64, 10_000):
        got = [f async for f in aiter_frames(_chunks(FIXTURE_B.encode(), size))]
        assert got == FRAMES_B, size


async def test_aiter_frames_stops_at_done_without_reading_further() -> None:
    pulled: list[bytes] = []

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b'{"a": 1}\n', b"data: [DONE]\n", b'{"b": 2}\n', b'{"c": 3}\n'):
            pulled.append(chunk)
            yield chunk

    assert [f async for f in aiter_frames(chunks())] == [{"a": 1}]
    assert len(pulled) == 2


async def test_aiter_frames_flushes_a_trailing_done_without_newline() -> None:
    got = [f async for f in aiter_frames(_chunks(FIXTURE_A.rstrip("\n").encode(), 5))]
    assert got == FRAMES_A
