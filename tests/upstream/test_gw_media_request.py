"""Media request pieces: quota_info parsing, asset hosts, download headers, WS frames, bodies."""

from __future__ import annotations

import json

import pytest

from grokgate.errors import UpstreamError
from grokgate.upstream.grokweb.assets import AssetHosts, download_headers
from grokgate.upstream.grokweb.imagine_quota import ImagineWindow, parse_imagine_quota
from grokgate.upstream.grokweb.media_request import (
    edit_body,
    image_video_body,
    imagine_request,
    imagine_reset,
    imagine_ws_url,
    lite_body,
    text_video_body,
    video_length,
)
from grokgate.upstream.grokweb.media_types import VideoParams
from tests.upstream.browser_support import FINGERPRINT

HOSTS = AssetHosts("http://sim.test/assets")
JPEG = b"\xff\xd8\xff\xe0 final jpeg"
PREVIEW = b"\xff\xd8 preview"
UID = "u-1"

# --- quota -----------------------------------------------------------------------------------


def test_parse_imagine_quota() -> None:
    window = {"available": True, "remainingQueries": 3, "windowSizeSeconds": 86400}
    spent = {
        "available": False,
        "remainingQueries": 0,
        "windowSizeSeconds": 86400,
        "nextAvailableAt": "2026-08-10T12:00:00Z",
    }
    raw = json.dumps(
        {"image": window, "imagePro": None, "imageEdit": window, "video": spent, "video720p": None}
    )
    parsed = parse_imagine_quota(raw)
    assert parsed["image"] == ImagineWindow(True, 3, 86400.0, None)
    assert parsed["imagePro"] is None
    assert parsed["video"] == ImagineWindow(False, 0, 86400.0, 1786363200.0)
    assert set(parsed) == {"image", "imagePro", "imageEdit", "video", "video720p"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"image":null,"imagePro":null,"imageEdit":null,"video":null}',
        b"not json",
        b"[]",
        b'{"image":{"available":true},"imagePro":null,"imageEdit":null,"video":null,'
        b'"video720p":null}',
    ],
)
def test_parse_imagine_quota_rejects(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_imagine_quota(raw)


# --- hosts and bodies ------------------------------------------------------------------------


def test_asset_url_mapping() -> None:
    hosts = AssetHosts("https://cdn.example/assets/")
    assert hosts.map("users/u/generated/x/image.jpg") == (
        "https://cdn.example/assets/users/u/generated/x/image.jpg",
        False,
    )
    assert hosts.map("/users/u/a.jpg") == ("https://cdn.example/assets/users/u/a.jpg", False)
    assert hosts.map("https://assets.grok.com/users/u/a.jpg") == (
        "https://cdn.example/assets/users/u/a.jpg",
        False,
    )
    assert hosts.map("https://imgen.x.ai/a.jpg") == ("https://imgen.x.ai/a.jpg", True)
    assert hosts.map("https://cdn.example/assets/users/u/a.jpg")[1] is False
    for bad in (
        "https://evil.example/users/u/a.jpg",
        "http://assets.grok.com/users/u/a.jpg",
        "users/../../etc/passwd",
        "https://cdn.example/other/a.jpg",
        "javascript:alert(1)",
        "",
    ):
        with pytest.raises(UpstreamError):
            hosts.map(bad)


def test_default_asset_host_is_grok() -> None:
    assert AssetHosts().map("users/u/a.jpg") == ("https://assets.grok.com/users/u/a.jpg", False)


def test_download_headers() -> None:
    headers = download_headers("video", fingerprint=FINGERPRINT, cookie="sso=a; sso-rw=a")
    assert headers["cookie"] == "sso=a; sso-rw=a"
    assert headers["accept"].startswith("video/mp4")
    assert headers["sec-fetch-dest"] == "document"
    assert headers["sec-fetch-mode"] == "navigate"
    assert headers["upgrade-insecure-requests"] == "1"
    assert headers["user-agent"] == FINGERPRINT.user_agent
    assert headers["sec-ch-ua"] == FINGERPRINT.hints()["sec-ch-ua"]
    assert not set(headers) & {"origin", "content-type", "x-statsig-id", "x-xai-request-id"}
    public = download_headers("image", fingerprint=FINGERPRINT, cookie=None)
    assert "cookie" not in public
    assert public["accept"].startswith("image/")


def test_ws_url() -> None:
    assert imagine_ws_url("https://grok.com/") == "wss://grok.com/ws/imagine/listen"
    assert imagine_ws_url("http://127.0.0.1:9") == "ws://127.0.0.1:9/ws/imagine/listen"


def test_imagine_frames() -> None:
    reset = json.loads(imagine_reset(5))
    assert reset == {
        "type": "conversation.item.create",
        "timestamp": 5,
        "item": {"type": "message", "content": [{"type": "reset"}]},
    }
    request = json.loads(
        imagine_request("a cat", num_generations=3, aspect_ratio="1:1", pro=True, request_id="r")
    )
    (content,) = request["item"]["content"]
    assert content["requestId"] == "r"
    assert content["text"] == "a cat"
    assert content["type"] == "input_text"
    props = content["properties"]
    assert props["num_generations"] == 3
    assert props["aspect_ratio"] == "1:1"
    assert props["enable_pro"] is True
    assert props["enable_nsfw"] is True


def test_rest_bodies() -> None:
    lite = lite_body("a fox")
    assert lite["message"] == "Drawing: a fox"
    assert (lite["modeId"], lite["imageGenerationCount"]) == ("fast", 2)
    edit = edit_body("make it blue", ["f1", "f2"], "1:1")
    assert edit["modelName"] == "imagine-image-edit"
    assert "modeId" not in edit
    assert not {"temporary", "kind", "responseMetadata"} & set(edit)  # GO3's body (2026-12)
    assert edit["mediaGenInput"]["imageToImage"] == {
        "prompt": "make it blue",
        "inputAssets": ["f1", "f2"],
        "aspectRatio": "1:1",
    }
    assert "aspectRatio" not in edit_body("p", ["f"], None)["mediaGenInput"]["imageToImage"]
    text = text_video_body(VideoParams("waves", seconds=20, preset="spicy"))
    assert text["message"] == "waves --mode=extremely-spicy-or-crazy"
    assert text["mediaGenInput"]["textToVideo"] == {
        "prompt": "waves",
        "aspectRatio": "16:9",
        "duration": 15,
        "resolutionName": "720p",
    }
    ref = image_video_body(
        VideoParams("waves", seconds=8, aspect_ratio="9:16", preset="fun"),
        post_id="p1",
        media_url="https://assets.grok.com/users/u/f/content",
    )
    config = ref["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    assert ref["message"] == "waves --mode=extremely-crazy"
    assert config["parentPostId"] == "p1"
    assert config["videoLength"] == 10
    assert config["imageReferences"] == ["https://assets.grok.com/users/u/f/content"]
    assert [video_length(s) for s in (1, 6, 7, 15)] == [6, 6, 10, 10]
