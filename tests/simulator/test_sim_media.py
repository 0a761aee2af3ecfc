"""Simulator media on conversations/new (lite, edit, video) and media/post/create."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from grokgate.simulator.media import POST_CREATE_PATH
from grokgate.simulator.media_bytes import LIGHTHOUSE_ID, image_bytes, video_bytes
from grokgate.simulator.state import CHAT_PATH, UPLOAD_PATH
from grokgate.simulator.uploads import tiny_png

if TYPE_CHECKING:
    from conftest import Sim

IMAGINE_REFERER = {"referer": "https://grok.com/imagine"}
SOURCE = "IMAGINE_SELF_UPLOAD_FILE_SOURCE"


def cookie(token: str) -> dict[str, str]:
    return {"cookie": f"sso={token}; sso-rw={token}"}


def upload(sim: Sim, token: str = "tok-super") -> str:
    response = sim.http.post(
        UPLOAD_PATH,
        files={"file": ("in.png", tiny_png(), "image/png")},
        data={"file_source": SOURCE},
        headers=cookie(token),
    )
    assert response.status_code == 200
    return str(response.json()["fileMetadata"]["fileMetadataId"])


def edit_body(prompt: str, assets: list[Any], aspect: str | None = None) -> dict[str, Any]:
    i2i: dict[str, Any] = {"prompt": prompt, "inputAssets": assets}
    if aspect:
        i2i["aspectRatio"] = aspect
    return {
        "modelName": "imagine-image-edit",
        "message": prompt,
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "mediaGenInput": {"imageToImage": i2i},  # GO3's body (2026-12): no temporary, kind, ...
    }


def t2v_body(prompt: str, mode: str = "custom", **t2v: Any) -> dict[str, Any]:
    spec = {"prompt": prompt, "aspectRatio": "16:9", "duration": 6, "resolutionName": "720p"}
    return {
        "modelName": "imagine-video-gen",
        "message": f"{prompt} --mode={mode}",
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "temporary": True,
        "responseMetadata": {"experiments": [], "modelConfigOverride": {"modelMap": {}}},
        "mediaGenInput": {"textToVideo": spec | t2v},
        "kind": "CONVERSATION_KIND_IMAGINE",
    }


def i2v_body(prompt: str, post_id: str, url: str, length: int = 6) -> dict[str, Any]:
    config = {"parentPostId": post_id, "aspectRatio": "9:16", "videoLength": length,
              "resolutionName": "720p", "isVideoEdit": False, "isReferenceToVideo": True,
              "imageReferences": [url]}  # fmt: skip
    return {
        "temporary": True,
        "modelName": "imagine-video-gen",
        "message": f"{prompt} --mode=normal",
        "enableSideBySide": True,
        "responseMetadata": {
            "experiments": [],
            "modelConfigOverride": {"modelMap": {"videoGenModelConfig": config}},
        },
    }


def media_post(sim: Sim, body: Any, token: str = "tok-super") -> httpx.Response:
    return sim.post(CHAT_PATH, body, token, headers=IMAGINE_REFERER)


def responses(frames: list[dict[str, Any]], key: str) -> list[Any]:
    return [f["result"]["response"][key] for f in frames[1:] if key in f["result"]["response"]]


def download(sim: Sim, path: str, token: str = "tok-super") -> httpx.Response:
    return sim.http.get(f"/assets/{path}", headers=cookie(token))


# lite ----------------------------------------------------------------------------------------
def test_lite_drawing_streams_render_tags_and_image_cards(sim: Sim) -> None:
    body = {"message": "Drawing: a lighthouse", "modeId": "fast", "imageGenerationCount": 2}
    frames = sim.frames(sim.post(CHAT_PATH, body, "tok-basic"))
    assert sim.kind(frames[0]) == "conversation"
    tokens = responses(frames, "token")
    tags = [t for t in tokens if t.startswith("<grok:render")]
    card_ids = [re.search(r'card_id="([^"]+)"', t)[1] for t in tags]  # type: ignore[index]
    assert len(card_ids) == 2
    assert all('card_type="generated_image_card" type="render_file"' in t for t in tags)
    cards = [json.loads(c["jsonData"]) for c in responses(frames, "cardAttachment")]
    assert [c["image_chunk"]["progress"] for c in cards] == [50, 100, 50, 100]
    assert [c["id"] for c in cards] == [card_ids[0]] * 2 + [card_ids[1]] * 2
    uid = sim.state.accounts["tok-basic"].user_id
    for card in cards[1::2]:
        chunk = card["image_chunk"]
        assert card["type"] == "render_file" and card["cardType"] == "generated_image_card"
        assert chunk["imageUrl"] == f"users/{uid}/generated/{chunk['imageUuid']}/image.jpg"
        assert chunk["moderated"] is False
        got = download(sim, chunk["imageUrl"], "tok-basic")
        assert got.content == image_bytes(chunk["imageUuid"])
    (model,) = responses(frames, "modelResponse")
    assert model["generatedImageUrls"] == [c["image_chunk"]["imageUrl"] for c in cards[1::2]]
    assert model["message"] == "".join(tokens)
    assert "finalMetadata" in frames[-1]["result"]["response"]
    assert sim.state.quota("tok-basic", "fast")[1] == 29  # one fast query like a chat


@pytest.mark.parametrize(("fault", "expected"), [("moderate", [True, True]),
                                                 ("moderate_some", [True, False])])  # fmt: skip
def test_lite_moderation(sim: Sim, fault: str, expected: list[bool]) -> None:
    sim.state.media.inject("tok-super", fault)
    body = {"message": "Drawing: x", "modeId": "fast", "imageGenerationCount": 2}
    frames = sim.frames(sim.post(CHAT_PATH, body))
    cards = [json.loads(c["jsonData"]) for c in responses(frames, "cardAttachment")]
    assert [c["image_chunk"]["moderated"] for c in cards[1::2]] == expected
    (model,) = responses(frames, "modelResponse")
    assert len(model["generatedImageUrls"]) == expected.count(False)


def test_drawing_in_another_mode_is_an_ordinary_chat(sim: Sim) -> None:
    frames = sim.frames(sim.chat("Drawing: a cat", mode="auto"))
    assert responses(frames, "cardAttachment") == []


# edit ----------------------------------------------------------------------------------------
def test_edit_streams_progress_and_the_image_is_downloadable(sim: Sim) -> None:
    file_id = upload(sim)
    assert sim.state.uploads[file_id].file_source == SOURCE
    assert sim.state.upload_requests()[0].body["file_source"] == SOURCE
    frames = sim.frames(media_post(sim, edit_body("make it blue", [file_id])))
    assert sim.kind(frames[0]) == "conversation"
    steps = responses(frames, "streamingImageGenerationResponse")
    assert [s["progress"] for s in steps] == [25, 60, 100]
    assert [s["isFinal"] for s in steps] == [False, False, True]
    assert not any(s["moderated"] for s in steps)
    image_id = steps[-1]["assetId"]
    uid = sim.state.accounts["tok-super"].user_id
    path = f"users/{uid}/generated/{image_id}/image.jpg"
    assert {s["imageUrl"] for s in steps} == {path} and {s["imageIndex"] for s in steps} == {0}
    (model,) = responses(frames, "modelResponse")
    assert model["generatedImageUrls"] == [path] and model["sender"] == "ASSISTANT"
    assert frames[-1] == {"result": {"response": {"finalMetadata": {}}}}
    got = download(sim, path)
    assert got.headers["content-type"] == "image/jpeg"
    assert got.content == image_bytes(image_id, 1024, 1024)
    assert sim.state.media.remaining("tok-super", "imageEdit") == 49
    (record,) = sim.state.media.requests("edit")
    assert record.detail["input_assets"] == [file_id] and record.detail["prompt"] == "make it blue"


def test_edit_aspect_ratio_sets_the_image_size(sim: Sim) -> None:
    frames = sim.frames(media_post(sim, edit_body("wide", [upload(sim)], aspect="16:9")))
    image_id = responses(frames, "streamingImageGenerationResponse")[-1]["assetId"]
    asset = sim.state.media.asset(sim.state.media.images[image_id])
    assert asset is not None and asset.data == image_bytes(image_id, 1280, 720)


def test_edit_moderated_and_no_image_faults(sim: Sim) -> None:
    file_id = upload(sim)
    sim.state.media.inject("tok-super", "moderate")
    frames = sim.frames(media_post(sim, edit_body("p", [file_id])))
    steps = responses(frames, "streamingImageGenerationResponse")
    assert [s["moderated"] for s in steps] == [False, False, True]
    assert responses(frames, "modelResponse")[0]["generatedImageUrls"] == []
    assert sim.state.media.images == {}
    fault = {"token": "tok-super", "fault": "edit_no_image"}
    assert sim.http.post("/__sim/faults", json=fault).status_code == 204
    frames = sim.frames(media_post(sim, edit_body("p", [file_id])))
    assert responses(frames, "streamingImageGenerationResponse") == []
    assert responses(frames, "token") == ["I couldn't edit that image."]
    (model,) = responses(frames, "modelResponse")
    assert model["generatedImageUrls"] == [] and model["message"] == "I couldn't edit that image."
    normal = sim.frames(media_post(sim, edit_body("p", [file_id])))
    assert len(responses(normal, "streamingImageGenerationResponse")) == 3


def test_edit_validation(sim: Sim) -> None:
    mine, theirs = upload(sim), upload(sim, "tok-heavy")
    for body in (
        edit_body("p", []),
        edit_body("p", [mine] * 9),
        edit_body("p", ["no-such-file"]),
        edit_body("p", [theirs]),
        edit_body("p", [1]),
        {**edit_body("p", [mine]), "modelName": "imagine-unknown"},
        {**edit_body("p", [mine]), "mediaGenInput": {}},
    ):
        response = media_post(sim, body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == 3
    assert media_post(sim, edit_body("p", [mine] * 8)).status_code == 200


def test_edit_goes_through_the_chat_prelude_and_chat_faults(sim: Sim) -> None:
    body = edit_body("p", [upload(sim)])
    no_statsig = sim.http.post(CHAT_PATH, json=body, headers=cookie("tok-super"))
    assert no_statsig.status_code == 403
    assert media_post(sim, body, "nobody").status_code == 401
    sim.state.inject("tok-super", "503")
    assert media_post(sim, body).status_code == 503
    sim.state.inject("tok-super", "truncate", after=2)
    assert len(sim.frames(media_post(sim, body))) == 2
    assert len(sim.state.chat_requests("tok-super")) == 3


def test_exhausted_edit_quota_is_429(sim: Sim) -> None:
    sim.state.media.set_remaining("tok-super", "imageEdit", 0)
    response = media_post(sim, edit_body("p", [upload(sim)]))
    assert response.status_code == 429 and int(response.headers["retry-after"]) == 86400


# video ---------------------------------------------------------------------------------------
def _check_video(sim: Sim, frames: list[dict[str, Any]], prompt: str, length: int = 6) -> str:
    steps = responses(frames, "streamingVideoGenerationResponse")
    assert [s["progress"] for s in steps] == [1, 20, 45, 70, 95, 100]
    video_id, post_id = steps[0]["videoId"], steps[0]["videoPostId"]
    assert all((s["videoId"], s["videoPostId"]) == (video_id, post_id) for s in steps)
    assert all(s["resolutionName"] == "720p" for s in steps)
    final = steps[-1]
    base = f"users/{sim.state.accounts['tok-super'].user_id}/generated/{video_id}"
    assert final["moderated"] is False and final["assetId"] == video_id
    assert final["videoUrl"] == f"{base}/generated_video.mp4"
    assert final["thumbnailImageUrl"] == f"{base}/preview_image.jpg"
    assert frames[-1] == {
        "result": {"response": {"token": "I generated a video", "isSoftStop": True}}
    }
    mp4 = download(sim, final["videoUrl"])
    assert mp4.headers["content-type"] == "video/mp4"
    assert mp4.content == video_bytes(video_id, prompt, length)
    assert mp4.content[4:8] == b"ftyp"
    thumb = download(sim, final["thumbnailImageUrl"])
    assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
    assert sim.state.media.videos == {video_id: final["videoUrl"]}
    return str(post_id)


def test_text_to_video(sim: Sim) -> None:
    frames = sim.frames(media_post(sim, t2v_body("a calm sea", "extremely-crazy", duration=8)))
    _check_video(sim, frames, "a calm sea", 8)
    assert sim.state.media.remaining("tok-super", "video") == 49
    assert sim.state.media.remaining("tok-super", "video720p") == 19
    (record,) = sim.state.media.requests("video")
    assert record.detail["mode"] == "extremely-crazy" and record.detail["parent_post_id"] is None


def test_video_480p_on_basic_spends_nothing_counted(sim: Sim) -> None:
    body = t2v_body("low res", resolutionName="480p")
    assert sim.frames(media_post(sim, body, "tok-basic"))
    assert sim.state.media.remaining("tok-basic", "video") is None
    assert sim.state.media.remaining("tok-basic", "video720p") == 5


def test_image_to_video_through_a_media_post(sim: Sim) -> None:
    file_id = upload(sim)
    uid = sim.state.accounts["tok-super"].user_id
    url = f"https://assets.grok.com/users/{uid}/{file_id}/content"
    created = sim.post(
        POST_CREATE_PATH, {"mediaType": "MEDIA_POST_TYPE_IMAGE", "mediaUrl": url}, "tok-super",
        headers=IMAGINE_REFERER,
    )  # fmt: skip
    assert created.status_code == 200
    post = created.json()["post"]
    assert post["mediaUrl"] == url and post["id"]
    frames = sim.frames(media_post(sim, i2v_body("make it move", post["id"], url, 10)))
    video_post = _check_video(sim, frames, "make it move", 10)
    assert video_post != post["id"]
    assert sim.state.media.requests("video")[0].detail["parent_post_id"] == post["id"]
    assert [r.kind for r in sim.state.media.requests("post")] == ["post"]


def test_media_post_create(sim: Sim) -> None:
    video = {"mediaType": "MEDIA_POST_TYPE_VIDEO", "prompt": "a dog"}
    response = sim.post(POST_CREATE_PATH, video)
    assert response.status_code == 200 and response.json()["post"]["prompt"] == "a dog"
    theirs = upload(sim, "tok-heavy")
    uid = sim.state.accounts["tok-heavy"].user_id
    other = f"https://assets.grok.com/users/{uid}/{theirs}/content"
    for body in (
        {"mediaType": "MEDIA_POST_TYPE_IMAGE", "mediaUrl": other},
        {"mediaType": "MEDIA_POST_TYPE_IMAGE"},
        {"mediaType": "MEDIA_POST_TYPE_VIDEO"},
        {"mediaType": "MEDIA_POST_TYPE_AUDIO", "prompt": "x"},
        [],
    ):
        assert sim.post(POST_CREATE_PATH, body).status_code == 400, body
    assert sim.post(POST_CREATE_PATH, video, "nobody").status_code == 401
    no_statsig = sim.http.post(POST_CREATE_PATH, json=video, headers=cookie("tok-super"))
    assert no_statsig.status_code == 403


def test_video_validation(sim: Sim) -> None:
    theirs = sim.state.media.add_post("tok-heavy", "MEDIA_POST_TYPE_IMAGE", "u").id
    mine = sim.state.media.add_post("tok-super", "MEDIA_POST_TYPE_IMAGE", "u").id
    no_mode = t2v_body("x")
    no_mode["message"] = "x"
    bad = [
        t2v_body("x", duration=16),
        t2v_body("x", duration=0),
        t2v_body("x", mode="wild"),
        t2v_body("x", resolutionName="4k"),
        no_mode,
        i2v_body("x", theirs, "u"),
        i2v_body("x", "no-post", "u"),
        i2v_body("x", mine, "u", length=7),
        {"modelName": "imagine-video-gen", "message": "x --mode=normal"},
    ]
    for body in bad:
        response = media_post(sim, body)
        assert response.status_code == 400, body
    assert media_post(sim, t2v_body("x", duration=15)).status_code == 200
    assert media_post(sim, i2v_body("x", mine, "u", length=10)).status_code == 200


@pytest.mark.parametrize("fault", ["video_moderated", "moderate"])
def test_video_moderated(sim: Sim, fault: str) -> None:
    sim.state.media.inject("tok-super", fault)
    frames = sim.frames(media_post(sim, t2v_body("nope")))
    final = responses(frames, "streamingVideoGenerationResponse")[-1]
    assert final["progress"] == 100 and final["moderated"] is True
    assert "videoUrl" not in final and "assetId" not in final
    assert sim.state.media.videos == {}


def test_video_lighthouse(sim: Sim) -> None:
    body = {"token": "tok-super", "fault": "video_lighthouse"}
    assert sim.http.post("/__sim/faults", json=body).status_code == 204
    frames = sim.frames(media_post(sim, t2v_body("my video")))
    final = responses(frames, "streamingVideoGenerationResponse")[-1]
    uid = sim.state.accounts["tok-super"].user_id
    assert final["assetId"] == LIGHTHOUSE_ID != final["videoId"]
    assert final["videoUrl"] == f"users/{uid}/generated/{LIGHTHOUSE_ID}/generated_video.mp4"
    got = download(sim, final["videoUrl"])
    assert got.content == video_bytes(LIGHTHOUSE_ID, "lighthouse")
    assert got.content != video_bytes(final["videoId"], "my video")
    assert sim.state.media.videos == {}


def test_video_step_delay(sim: Sim) -> None:
    sim.state.media.video_step_delay = 0.05
    started = time.monotonic()
    sim.frames(media_post(sim, t2v_body("slow")))
    assert time.monotonic() - started >= 0.3  # six pauses


def test_video_gets_chat_faults_too(sim: Sim) -> None:
    sim.state.inject("tok-super", "inband_response_error")
    frames = sim.frames(media_post(sim, t2v_body("x")))
    assert [sim.kind(f) for f in frames] == ["conversation", "error"]
    sim.state.inject("tok-super", "cut", after=3)
    with pytest.raises(httpx.RemoteProtocolError):
        media_post(sim, t2v_body("x"))


def test_media_faults_wait_for_a_request_of_their_kind(sim: Sim) -> None:
    sim.state.media.inject("tok-super", "video_lighthouse")
    sim.state.media.inject("tok-super", "edit_no_image")
    assert sim.frames(sim.chat())  # a chat takes no media fault
    frames = sim.frames(media_post(sim, edit_body("p", [upload(sim)])))
    assert responses(frames, "streamingImageGenerationResponse") == []
    frames = sim.frames(media_post(sim, t2v_body("x")))
    assert responses(frames, "streamingVideoGenerationResponse")[-1]["assetId"] == LIGHTHOUSE_ID
    assert sim.state.media.take("tok-super", "video") is None


def test_sticky_media_faults_until_cleared(sim: Sim) -> None:
    sim.state.media.inject("tok-super", "video_moderated", times=-1)
    for _ in range(2):
        frames = sim.frames(media_post(sim, t2v_body("x")))
        assert responses(frames, "streamingVideoGenerationResponse")[-1]["moderated"] is True
    sim.state.media.clear_faults("tok-super")
    frames = sim.frames(media_post(sim, t2v_body("x")))
    assert responses(frames, "streamingVideoGenerationResponse")[-1]["moderated"] is False
    with pytest.raises(ValueError, match="unknown media fault"):
        sim.state.media.inject("tok-super", "500")
    with pytest.raises(KeyError):
        sim.state.media.inject("nobody", "moderate")
