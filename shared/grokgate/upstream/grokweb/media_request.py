"""What grokgate sends for grok.com's media flows (docs/grok-protocol.md §6, §7, §8.2).

Pure builders: the imagine WebSocket's frames and handshake headers, and the REST bodies of the
lite image, image edit, video (text and image flows), media post and quota calls.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from grokgate.upstream.grokweb.media_types import VideoParams
from grokgate.upstream.grokweb.request import ORIGIN, chat_body

IMAGINE_WS_PATH = "/ws/imagine/listen"
POST_CREATE_PATH = "/rest/media/post/create"
QUOTA_PATH = "/rest/media/imagine/quota_info"
IMAGINE_REFERER = ORIGIN + "/imagine"
GROK_ASSETS = "https://assets.grok.com"  # how grok.com itself names uploads in a request
LITE_PREFIX = "Drawing: "
_ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"
_PRESETS = {
    "fun": "extremely-crazy",
    "normal": "normal",
    "spicy": "extremely-spicy-or-crazy",
    "custom": "custom",
}
MIN_VIDEO_SECONDS = 1
MAX_VIDEO_SECONDS = 15


def imagine_ws_url(base_url: str) -> str:
    """``wss://<host>/ws/imagine/listen`` for ``https://<host>`` (``ws://`` for ``http://``)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + IMAGINE_WS_PATH


def _now_ms() -> int:
    return int(time.time() * 1000)


def imagine_reset(timestamp: int | None = None) -> str:
    return json.dumps(
        {
            "type": "conversation.item.create",
            "timestamp": _now_ms() if timestamp is None else timestamp,
            "item": {"type": "message", "content": [{"type": "reset"}]},
        }
    )


def imagine_request(
    prompt: str,
    *,
    num_generations: int,
    aspect_ratio: str,
    pro: bool,
    request_id: str | None = None,
    timestamp: int | None = None,
) -> str:
    content = {
        "requestId": request_id or str(uuid.uuid4()),
        "text": prompt,
        "type": "input_text",
        "properties": {
            "section_count": 0,
            "is_kids_mode": False,
            "enable_nsfw": True,
            "skip_upsampler": False,
            "enable_side_by_side": True,
            "is_initial": False,
            "aspect_ratio": aspect_ratio,
            "enable_pro": pro,
            "num_generations": num_generations,
        },
    }
    return json.dumps(
        {
            "type": "conversation.item.create",
            "timestamp": _now_ms() if timestamp is None else timestamp,
            "item": {"type": "message", "content": [content]},
        },
        ensure_ascii=False,
    )


def lite_body(prompt: str) -> dict[str, Any]:
    """The chat body of a lite image (§6.2): ``fast``, ``Drawing: ...``, two images."""
    return chat_body(LITE_PREFIX + prompt, "fast")


def edit_body(prompt: str, file_ids: list[str], aspect_ratio: str | None) -> dict[str, Any]:
    """The GO3 image edit body (§6.3).

    As GO3 sends it (2026-12): ``file_ids`` are the uploads' ``fileMetadataId``s, and the body
    carries no ``temporary``, ``kind`` or ``responseMetadata``.
    """
    image_to_image: dict[str, Any] = {"prompt": prompt, "inputAssets": list(file_ids)}
    if aspect_ratio:
        image_to_image["aspectRatio"] = aspect_ratio
    return {
        "modelName": "imagine-image-edit",
        "message": prompt,
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "mediaGenInput": {"imageToImage": image_to_image},
    }


def video_message(params: VideoParams) -> str:
    return f"{params.prompt} --mode={_PRESETS.get(params.preset, 'custom')}"


def text_video_body(params: VideoParams) -> dict[str, Any]:
    """GO3 text to video (§7.1): one segment of 1–15 s (clamped)."""
    seconds = max(MIN_VIDEO_SECONDS, min(MAX_VIDEO_SECONDS, params.seconds))
    return {
        "modelName": "imagine-video-gen",
        "message": video_message(params),
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "temporary": True,
        "responseMetadata": {"experiments": [], "modelConfigOverride": {"modelMap": {}}},
        "mediaGenInput": {
            "textToVideo": {
                "prompt": params.prompt,
                "aspectRatio": params.aspect_ratio,
                "duration": seconds,
                "resolutionName": params.resolution,
            }
        },
        "kind": "CONVERSATION_KIND_IMAGINE",
    }


def video_length(seconds: int) -> int:
    """PY2's segment lengths: up to 6 s → 6, longer → 10."""
    return 6 if seconds <= 6 else 10


def image_video_body(params: VideoParams, *, post_id: str, media_url: str) -> dict[str, Any]:
    """PY2 image to video (§7.2): the reference image is the media post ``post_id``."""
    return {
        "temporary": True,
        "modelName": "imagine-video-gen",
        "message": video_message(params),
        "enableSideBySide": True,
        "responseMetadata": {
            "experiments": [],
            "modelConfigOverride": {
                "modelMap": {
                    "videoGenModelConfig": {
                        "parentPostId": post_id,
                        "aspectRatio": params.aspect_ratio,
                        "videoLength": video_length(params.seconds),
                        "resolutionName": params.resolution,
                        "isVideoEdit": False,
                        "isReferenceToVideo": True,
                        "imageReferences": [media_url],
                    }
                }
            },
        },
    }


def upload_media_url(file_uri: str) -> str:
    """How grok.com names an upload in a request: ``https://assets.grok.com/<fileUri>``."""
    return f"{GROK_ASSETS}/{file_uri.lstrip('/')}"


def post_create_body(media_url: str) -> dict[str, Any]:
    return {"mediaType": "MEDIA_POST_TYPE_IMAGE", "mediaUrl": media_url}
