"""The media flows' pure parts: imagine rounds, NDJSON media frames, quota, URLs and bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.errors import ContentModeratedError, UpstreamError, Verdict
from grokgate.upstream.grokweb.assets import AssetHosts
from grokgate.upstream.grokweb.imagine import ImagineRound, imagine_error
from grokgate.upstream.grokweb.media_stream import (
    EditParser,
    LiteImageParser,
    VideoParser,
    names_video,
    parse_post_id,
)
from grokgate.upstream.grokweb.media_types import GeneratedVideo, VideoProgress

HOSTS = AssetHosts("http://sim.test/assets")
JPEG = b"\xff\xd8\xff\xe0 final jpeg"
PREVIEW = b"\xff\xd8 preview"
UID = "u-1"


def resp(**fields: Any) -> dict[str, Any]:
    return {"result": {"response": fields}}


def start(k: int, ident: str, w: int = 832, h: int = 1248) -> dict[str, Any]:
    return {
        "type": "json",
        "current_status": "start_stage",
        "image_id": ident,
        "order": k,
        "width": w,
        "height": h,
    }


def picture(k: int, ident: str, percent: int, data: bytes = JPEG, **extra: Any) -> dict[str, Any]:
    frame = {
        "type": "image",
        "url": f"https://assets.grok.com/users/{UID}/generated/{ident}/image.jpg",
        "blob": base64.b64encode(data).decode(),
        "percentage_complete": percent,
        "order": k,
        "width": 832,
        "height": 1248,
    }
    if percent >= 100:
        frame["id"] = ident
    frame.update(extra)
    return frame


def completed(k: int, ident: str, moderated: bool = False) -> dict[str, Any]:
    return {
        "type": "json",
        "current_status": "completed",
        "image_id": ident,
        "moderated": moderated,
        "r_rated": False,
        "order": k,
    }


def slot(k: int, ident: str, moderated: bool = False) -> list[dict[str, Any]]:
    frames = [start(k, ident), picture(k, ident, 50, PREVIEW)]
    if not moderated:
        frames.append(picture(k, ident, 100))
    return [*frames, completed(k, ident, moderated)]


# --- imagine rounds --------------------------------------------------------------------------


def test_round_collects_finals_in_slot_order() -> None:
    current = ImagineRound()
    a, b = slot(0, "img-a"), slot(1, "img-b")
    # interleaved slots; slot 1 finishes first
    for frame in [a[0], b[0], b[1], a[1], b[2], b[3]]:
        current.feed(frame)
        assert not current.done
    current.feed(a[2])
    assert not current.done
    current.feed_text(json.dumps(a[3]))
    assert current.done
    images = current.images(HOSTS)
    assert [i.image_id for i in images] == ["img-a", "img-b"]
    first = images[0]
    assert first.data == JPEG
    assert first.url == f"http://sim.test/assets/users/{UID}/generated/img-a/image.jpg"
    assert (first.width, first.height, first.public, first.mime) == (832, 1248, False, "image/jpeg")


def test_moderated_slot_is_dropped_and_counted() -> None:
    current = ImagineRound()
    for frame in slot(0, "ok") + slot(1, "bad", moderated=True):
        current.feed(frame)
    assert current.done
    assert [i.image_id for i in current.images(HOSTS)] == ["ok"]
    assert current.moderated == 1


def test_public_url_passes_through() -> None:
    current = ImagineRound()
    url = "https://imagine-public.x.ai/imagine-public/images/pub-1.jpg"
    current.feed(start(0, "pub-1"))
    current.feed(picture(0, "pub-1", 100, url=url))
    current.feed(completed(0, "pub-1"))
    (image,) = current.images(HOSTS)
    assert (image.url, image.public) == (url, True)


def test_round_not_done_until_a_slot_started() -> None:
    current = ImagineRound()
    assert not current.done
    current.feed_text("not json")
    current.feed([1, 2])
    assert not current.done
    assert current.ignored == 2


def test_image_on_a_foreign_host_keeps_only_the_blob() -> None:
    current = ImagineRound()
    current.feed(start(0, "x"))
    current.feed(picture(0, "x", 100, url="https://evil.example/images/x.jpg"))
    current.feed(completed(0, "x"))
    (image,) = current.images(HOSTS)
    assert image.url is None
    assert image.data == JPEG


def test_slots_keyed_by_id_when_order_is_missing() -> None:
    current = ImagineRound()
    frames = [
        {"type": "json", "current_status": "start_stage", "job_id": "j1"},
        {"type": "image", "url": "users/u/generated/j1/image.jpg", "percentage_complete": 100},
        {"type": "json", "current_status": "completed", "image_id": "j1", "moderated": False},
    ]
    for frame in frames:
        current.feed(frame)
    assert current.done
    (image,) = current.images(HOSTS)
    assert image.image_id == "j1"
    assert image.data is None
    assert image.url == "http://sim.test/assets/users/u/generated/j1/image.jpg"


def test_error_frame() -> None:
    with pytest.raises(UpstreamError) as info:
        ImagineRound().feed({"type": "error", "err_code": "internal", "err_msg": "boom"})
    assert info.value.verdict is Verdict.UNAVAILABLE
    assert "boom" in info.value.message
    limited = imagine_error({"type": "error", "err_code": "rate_limit_exceeded", "err_msg": "x"})
    assert limited.verdict is Verdict.RATE_LIMITED
    assert imagine_error({"err_msg": "Too many requests"}).verdict is Verdict.RATE_LIMITED


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
_frame_keys = st.sampled_from(
    [
        "type",
        "current_status",
        "image_id",
        "order",
        "url",
        "blob",
        "percentage_complete",
        "moderated",
        "id",
        "width",
        "err_code",
    ]
)
_frames = st.dictionaries(_frame_keys, _json | st.sampled_from(["image", "json", "error"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(_frames | _json, max_size=8))
def test_round_parser_raises_only_upstream_errors(frames: list[Any]) -> None:
    current = ImagineRound()
    try:
        for frame in frames:
            current.feed(frame)
        current.images(HOSTS)
        _ = current.done, current.moderated
    except UpstreamError:
        pass


# --- lite, edit, video streams ---------------------------------------------------------------


def card(progress: int, moderated: bool = False, uuid: str = "lite-1") -> dict[str, Any]:
    data = {
        "id": "C",
        "type": "render_file",
        "cardType": "generated_image_card",
        "image_chunk": {
            "imageUuid": uuid,
            "imageUrl": f"users/{UID}/generated/{uuid}/image.jpg",
            "progress": progress,
            "moderated": moderated,
        },
    }
    return resp(cardAttachment={"jsonData": json.dumps(data)})


def test_lite_parser_takes_the_final_cards() -> None:
    parser = LiteImageParser(HOSTS)
    for frame in [
        {"result": {"conversation": {"conversationId": "c"}}},
        resp(token='<grok:render card_id="C"></grok:render>', messageTag="final"),
        card(50),
        card(100),
        card(50, uuid="lite-2"),
        card(100, uuid="lite-2"),
        resp(modelResponse={"message": ""}),
        resp(isSoftStop=True),
        resp(finalMetadata={}),
    ]:
        parser.feed(frame)
    assert parser.finished
    images = parser.result()
    assert [i.image_id for i in images] == ["lite-1", "lite-2"]
    assert images[0].url == f"http://sim.test/assets/users/{UID}/generated/lite-1/image.jpg"
    assert images[0].data is None


def test_lite_parser_errors() -> None:
    moderated = LiteImageParser(HOSTS)
    moderated.feed(card(100, moderated=True))
    with pytest.raises(ContentModeratedError):
        moderated.result()
    with pytest.raises(UpstreamError) as info:
        LiteImageParser(HOSTS).result()
    assert info.value.verdict is Verdict.UNAVAILABLE
    with pytest.raises(UpstreamError) as info:
        LiteImageParser(HOSTS).feed({"error": {"code": 8, "message": "Too many requests"}})
    assert info.value.verdict is Verdict.RATE_LIMITED


def edit_frame(progress: int, moderated: bool = False, ident: str = "ed-1") -> dict[str, Any]:
    return resp(
        streamingImageGenerationResponse={
            "imageIndex": 0,
            "progress": progress,
            "imageUrl": f"users/{UID}/generated/{ident}/image.jpg",
            "assetId": ident,
            "moderated": moderated,
            "isFinal": progress >= 100,
        }
    )


def test_edit_parser_final_frame() -> None:
    parser = EditParser(HOSTS)
    for frame in [edit_frame(25), edit_frame(60), edit_frame(100)]:
        parser.feed(frame)
    parser.feed(
        resp(modelResponse={"generatedImageUrls": [f"users/{UID}/generated/ed-1/image.jpg"]})
    )
    parser.feed(resp(finalMetadata={}))
    assert parser.finished
    (image,) = parser.result()
    assert image.image_id == "ed-1"
    assert image.url == f"http://sim.test/assets/users/{UID}/generated/ed-1/image.jpg"


def test_edit_parser_is_final_flag_and_fallback() -> None:
    flagged = EditParser(HOSTS)
    frame = edit_frame(90)
    frame["result"]["response"]["streamingImageGenerationResponse"]["isFinal"] = True
    flagged.feed(frame)
    assert [i.image_id for i in flagged.result()] == ["ed-1"]
    fallback = EditParser(HOSTS)
    fallback.feed(resp(modelResponse={"generatedImageUrls": ["users/u/generated/fb/image.jpg"]}))
    assert [i.image_id for i in fallback.result()] == ["fb"]


def test_edit_parser_moderated_and_empty() -> None:
    moderated = EditParser(HOSTS)
    moderated.feed(edit_frame(100, moderated=True))
    moderated.feed(resp(modelResponse={"generatedImageUrls": []}))
    with pytest.raises(ContentModeratedError):
        moderated.result()
    empty = EditParser(HOSTS)
    empty.feed(resp(token="I couldn't edit that image.", messageTag="final"))
    empty.feed(resp(modelResponse={"generatedImageUrls": []}))
    with pytest.raises(UpstreamError, match="without an image") as info:
        empty.result()
    assert info.value.verdict is Verdict.UNAVAILABLE


def video_frame(progress: int, vid: str = "vid-1", **extra: Any) -> dict[str, Any]:
    fields = {"videoId": vid, "videoPostId": "post-9", "progress": progress}
    fields.update(extra)
    return resp(streamingVideoGenerationResponse=fields)


def final_video(vid: str = "vid-1", named: str | None = None, **extra: Any) -> dict[str, Any]:
    named = named or vid
    return video_frame(
        100,
        vid,
        assetId=named,
        videoUrl=f"users/{UID}/generated/{named}/generated_video.mp4",
        thumbnailImageUrl=f"users/{UID}/generated/{named}/preview_image.jpg",
        moderated=False,
        **extra,
    )


def test_video_parser_progress_then_final() -> None:
    parser = VideoParser(HOSTS)
    items: list[Any] = []
    for p in (1, 20, 45, 70, 95):
        items += parser.feed(video_frame(p))
    items += parser.feed(final_video())
    assert parser.done
    assert items[:5] == [VideoProgress(p, "vid-1") for p in (1, 20, 45, 70, 95)]
    assert items[5] == GeneratedVideo(
        url=f"http://sim.test/assets/users/{UID}/generated/vid-1/generated_video.mp4",
        video_id="vid-1",
        post_id="post-9",
        thumbnail_url=f"http://sim.test/assets/users/{UID}/generated/vid-1/preview_image.jpg",
    )
    assert parser.feed(resp(token="I generated a video", isSoftStop=True)) == []


def test_video_parser_lighthouse() -> None:
    parser = VideoParser(HOSTS)
    parser.feed(video_frame(45))
    with pytest.raises(UpstreamError, match="different video") as info:
        parser.feed(final_video(named="lighthouse-demo"))
    assert info.value.verdict is Verdict.UNAVAILABLE
    assert not isinstance(info.value, ContentModeratedError)


def test_video_parser_moderated() -> None:
    parser = VideoParser(HOSTS)
    parser.feed(video_frame(45))
    with pytest.raises(ContentModeratedError):
        parser.feed(video_frame(100, moderated=True))


def test_names_video() -> None:
    assert names_video("users/u/generated/v1/generated_video.mp4", "v1", "v1")
    assert not names_video("users/u/generated/v1/generated_video.mp4", "v2", "v1")
    assert not names_video("users/u/generated/lighthouse-demo/generated_video.mp4", None, "v1")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.builds(resp, streamingVideoGenerationResponse=_json) | _json, max_size=6))
def test_stream_parsers_raise_only_upstream_errors(frames: list[Any]) -> None:
    for parser in (LiteImageParser(HOSTS), EditParser(HOSTS), VideoParser(HOSTS)):
        try:
            for frame in frames:
                parser.feed(frame)
            if not isinstance(parser, VideoParser):
                parser.result()
        except UpstreamError:
            pass


def test_parse_post_id() -> None:
    assert parse_post_id(b'{"post":{"id":"p1","mediaUrl":"x"}}') == "p1"
    with pytest.raises(UpstreamError):
        parse_post_id(b'{"post":{}}')
