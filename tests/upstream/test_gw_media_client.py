"""GrokMediaClient lite, edit and video flows against a MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from grokgate.errors import (
    ContentModeratedError,
    UpstreamError,
    UpstreamStreamError,
    Verdict,
)
from grokgate.upstream.grokweb.media_client import GrokMediaClient
from grokgate.upstream.grokweb.media_request import POST_CREATE_PATH
from grokgate.upstream.grokweb.media_types import GeneratedVideo, VideoParams, VideoProgress
from grokgate.upstream.grokweb.request import CHAT_PATH
from grokgate.upstream.grokweb.upload import UPLOAD_PATH
from tests.upstream.media_support import (
    ACCOUNT,
    ASSETS,
    CONVERSATION,
    COOKIE,
    PNG,
    Upstream,
    client,
    status,
    stream,
    uploads,
)
from tests.upstream.test_gw_client import Chunks, FakeSigner, ndjson, resp

# --- lite image ------------------------------------------------------------------------------


def lite_answer(*uuids: str) -> bytes:
    frames: list[dict[str, Any]] = [CONVERSATION]
    for uuid in uuids:
        for progress in (50, 100):
            data = {
                "id": "C",
                "type": "render_file",
                "cardType": "generated_image_card",
                "image_chunk": {
                    "imageUuid": uuid,
                    "imageUrl": f"users/u1/generated/{uuid}/image.jpg",
                    "progress": progress,
                    "moderated": False,
                },
            }
            frames.append(resp(cardAttachment={"jsonData": json.dumps(data)}))
    frames += [resp(modelResponse={"message": ""}), resp(isSoftStop=True), resp(finalMetadata={})]
    return ndjson(*frames)


async def test_lite_parallel_requests() -> None:
    upstream = Upstream({CHAT_PATH: [stream(lite_answer("a", "b")), stream(lite_answer("c", "d"))]})
    signer = FakeSigner()
    images = await client(upstream, signer).lite_image(ACCOUNT, "a fox", n=3)
    assert [i.image_id for i in images] == ["a", "b", "c"]
    assert images[0].url == f"{ASSETS}/users/u1/generated/a/image.jpg"
    chats = upstream.on(CHAT_PATH)
    assert len(chats) == 2
    body = json.loads(chats[0].content)
    assert (body["message"], body["modeId"], body["imageGenerationCount"]) == (
        "Drawing: a fox",
        "fast",
        2,
    )
    assert signer.signed == [("POST", CHAT_PATH)] * 2
    assert chats[0].headers["referer"] == "https://grok.com/"
    assert chats[0].headers["cookie"] == COOKIE


async def test_lite_keeps_what_succeeded() -> None:
    limited = status(
        429, '{"error":{"code":8,"message":"Too many requests"}}', **{"retry-after": "9"}
    )
    upstream = Upstream({CHAT_PATH: [limited, stream(lite_answer("a", "b"))]})
    images = await client(upstream).lite_image(ACCOUNT, "p", n=4)
    assert [i.image_id for i in images] == ["a", "b"]


async def test_lite_failures() -> None:
    limited = status(
        429, '{"error":{"code":8,"message":"Too many requests"}}', **{"retry-after": "9"}
    )
    with pytest.raises(UpstreamError) as info:
        await client(Upstream({CHAT_PATH: limited})).lite_image(ACCOUNT, "p", n=2)
    assert info.value.verdict is Verdict.RATE_LIMITED and info.value.retry_after == 9
    inband = stream(ndjson(CONVERSATION, {"error": {"code": 8, "message": "rate limit"}}))
    with pytest.raises(UpstreamError) as info:
        await client(Upstream({CHAT_PATH: inband})).lite_image(ACCOUNT, "p", n=1)
    assert info.value.verdict is Verdict.RATE_LIMITED
    nothing = stream(
        ndjson(CONVERSATION, resp(token="no", messageTag="final"), resp(isSoftStop=True))
    )
    with pytest.raises(UpstreamError, match="without an image"):
        await client(Upstream({CHAT_PATH: nothing})).lite_image(ACCOUNT, "p", n=1)


# --- edit ------------------------------------------------------------------------------------


def edit_answer(*, moderated: bool = False, image: bool = True) -> bytes:
    url = "users/u1/generated/ed1/image.jpg"
    frames: list[dict[str, Any]] = [CONVERSATION]
    if image:
        for p in (25, 60, 100):
            frames.append(
                resp(
                    streamingImageGenerationResponse={
                        "imageIndex": 0,
                        "progress": p,
                        "imageUrl": url,
                        "assetId": "ed1",
                        "moderated": moderated and p == 100,
                        "isFinal": p >= 100,
                    }
                )
            )
    else:
        frames.append(resp(token="I couldn't edit that image.", messageTag="final"))
    urls = [url] if image and not moderated else []
    frames.append(
        resp(modelResponse={"responseId": "r", "message": "", "generatedImageUrls": urls})
    )
    frames.append(resp(finalMetadata={}))
    # concatenated objects, no newlines (media streams may do that)
    return b"".join(json.dumps(f).encode() for f in frames)


async def test_edit_uploads_then_edits() -> None:
    upstream = Upstream({UPLOAD_PATH: uploads(), CHAT_PATH: stream(edit_answer())})
    signer = FakeSigner()
    images = await client(upstream, signer).edit_image(
        ACCOUNT, "make it blue", [PNG, PNG], aspect_ratio="1:1"
    )
    assert [(i.image_id, i.url) for i in images] == [
        ("ed1", f"{ASSETS}/users/u1/generated/ed1/image.jpg")
    ]
    ups = upstream.on(UPLOAD_PATH)
    assert len(ups) == 2
    assert b'name="file_source"\r\n\r\nIMAGINE_SELF_UPLOAD_FILE_SOURCE' in ups[0].content
    assert "x-statsig-id" not in ups[0].headers
    (chat,) = upstream.on(CHAT_PATH)
    body = json.loads(chat.content)
    assert body["modelName"] == "imagine-image-edit"
    assert body["mediaGenInput"]["imageToImage"] == {
        "prompt": "make it blue",
        "inputAssets": ["file-1", "file-2"],
        "aspectRatio": "1:1",
    }
    assert chat.headers["referer"] == "https://grok.com/imagine"
    assert signer.signed == [("POST", CHAT_PATH)]


async def test_edit_moderated_and_empty() -> None:
    moderated = Upstream({UPLOAD_PATH: uploads(), CHAT_PATH: stream(edit_answer(moderated=True))})
    with pytest.raises(ContentModeratedError):
        await client(moderated).edit_image(ACCOUNT, "p", [PNG], aspect_ratio=None)
    empty = Upstream({UPLOAD_PATH: uploads(), CHAT_PATH: stream(edit_answer(image=False))})
    with pytest.raises(UpstreamError, match="finished the edit without an image") as info:
        await client(empty).edit_image(ACCOUNT, "p", [PNG], aspect_ratio=None)
    assert info.value.verdict is Verdict.UNAVAILABLE


async def test_edit_http_errors() -> None:
    expired = status(
        401, '{"error":{"code":16,"message":"[WKE=unauthorized:invalid-credentials]"}}'
    )
    upstream = Upstream({UPLOAD_PATH: expired})
    with pytest.raises(UpstreamError) as info:
        await client(upstream).edit_image(ACCOUNT, "p", [PNG], aspect_ratio=None)
    assert info.value.verdict is Verdict.EXPIRED
    assert upstream.on(CHAT_PATH) == []
    signer = FakeSigner()
    anti_bot = status(403, '{"error":{"message":"Request rejected by anti-bot rules.","code":7}}')
    upstream = Upstream({UPLOAD_PATH: uploads(), CHAT_PATH: anti_bot})
    with pytest.raises(UpstreamError) as info:
        await client(upstream, signer).edit_image(ACCOUNT, "p", [PNG], aspect_ratio=None)
    assert info.value.verdict is Verdict.CHALLENGED and signer.invalidated == 1


# --- video -----------------------------------------------------------------------------------


def video_answer(final_name: str = "v1", *, moderated: bool = False, final: bool = True) -> bytes:
    frames: list[dict[str, Any]] = [CONVERSATION]
    for p in (1, 20, 45, 70, 95):
        frames.append(
            resp(
                streamingVideoGenerationResponse={
                    "videoId": "v1",
                    "videoPostId": "pp1",
                    "progress": p,
                    "resolutionName": "720p",
                }
            )
        )
    if final:
        last: dict[str, Any] = {"videoId": "v1", "videoPostId": "pp1", "progress": 100}
        if moderated:
            last["moderated"] = True
        else:
            last.update(
                assetId=final_name,
                videoUrl=f"users/u1/generated/{final_name}/generated_video.mp4",
                thumbnailImageUrl=f"users/u1/generated/{final_name}/preview_image.jpg",
                moderated=False,
            )
        frames.append(resp(streamingVideoGenerationResponse=last))
    frames.append(resp(token="I generated a video", isSoftStop=True))
    return ndjson(*frames)


async def collect_video(media: GrokMediaClient, **kw: Any) -> list[Any]:
    params = kw.pop("params", VideoParams("ocean waves", seconds=6, preset="normal"))
    return [item async for item in media.video(ACCOUNT, params, **kw)]


async def test_text_video() -> None:
    upstream = Upstream({CHAT_PATH: stream(video_answer())})
    items = await collect_video(client(upstream))
    assert items[:-1] == [VideoProgress(p, "v1") for p in (1, 20, 45, 70, 95)]
    assert items[-1] == GeneratedVideo(
        url=f"{ASSETS}/users/u1/generated/v1/generated_video.mp4",
        video_id="v1",
        post_id="pp1",
        thumbnail_url=f"{ASSETS}/users/u1/generated/v1/preview_image.jpg",
    )
    (chat,) = upstream.requests
    body = json.loads(chat.content)
    assert body["message"] == "ocean waves --mode=normal"
    assert body["mediaGenInput"]["textToVideo"]["duration"] == 6
    assert chat.headers["referer"] == "https://grok.com/imagine"


async def test_image_video() -> None:
    def post(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"post": {"id": "post-1", "mediaUrl": "x"}})

    upstream = Upstream(
        {UPLOAD_PATH: uploads(), POST_CREATE_PATH: post, CHAT_PATH: stream(video_answer())}
    )
    signer = FakeSigner()
    params = VideoParams("dance", seconds=10, aspect_ratio="9:16", preset="fun")
    items = await collect_video(client(upstream, signer), params=params, reference=PNG)
    assert isinstance(items[-1], GeneratedVideo)
    assert [r.url.path for r in upstream.requests] == [UPLOAD_PATH, POST_CREATE_PATH, CHAT_PATH]
    assert signer.signed == [("POST", POST_CREATE_PATH), ("POST", CHAT_PATH)]
    post_request = upstream.on(POST_CREATE_PATH)[0]
    media_url = "https://assets.grok.com/users/u1/file-1/content"
    assert json.loads(post_request.content) == {
        "mediaType": "MEDIA_POST_TYPE_IMAGE",
        "mediaUrl": media_url,
    }
    assert post_request.headers["referer"] == "https://grok.com/imagine"
    body = json.loads(upstream.on(CHAT_PATH)[0].content)
    config = body["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    assert body["message"] == "dance --mode=extremely-crazy"
    assert config["parentPostId"] == "post-1"
    assert (config["videoLength"], config["aspectRatio"]) == (10, "9:16")
    assert config["imageReferences"] == [media_url]
    assert "mediaGenInput" not in body


async def test_video_lighthouse_after_progress() -> None:
    upstream = Upstream({CHAT_PATH: stream(video_answer("lighthouse-demo"))})
    items: list[Any] = []
    with pytest.raises(UpstreamError, match="different video") as info:
        async for item in client(upstream).video(ACCOUNT, VideoParams("p")):
            items.append(item)
    assert len(items) == 5 and all(isinstance(i, VideoProgress) for i in items)
    assert info.value.verdict is Verdict.UNAVAILABLE


async def test_video_failures() -> None:
    with pytest.raises(ContentModeratedError):
        await collect_video(client(Upstream({CHAT_PATH: stream(video_answer(moderated=True))})))
    with pytest.raises(UpstreamStreamError):
        await collect_video(client(Upstream({CHAT_PATH: stream(video_answer(final=False))})))
    expired = status(401, '{"error":{"code":16,"message":"Failed to look up session ID."}}')
    with pytest.raises(UpstreamError) as info:
        await collect_video(client(Upstream({CHAT_PATH: expired})))
    assert info.value.verdict is Verdict.EXPIRED


async def test_video_stream_that_breaks() -> None:
    def broken(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks([video_answer()[:200]], httpx.ReadError("reset")))

    with pytest.raises(UpstreamStreamError, match="broke"):
        await collect_video(client(Upstream({CHAT_PATH: broken})))
