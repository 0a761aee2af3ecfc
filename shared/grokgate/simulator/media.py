"""Media HTTP endpoints of the simulator (docs/grok-protocol.md §6.2–§6.5, §7, §8.2).

* ``POST /rest/app-chat/conversations/new`` with ``modelName`` and no ``modeId``:
  :meth:`MediaHandlers.plan` validates an image edit (``imagine-image-edit``, GO3
  ``mediaGenInput.imageToImage``) or a video (``imagine-video-gen``, GO3 ``textToVideo`` or the
  PY2 ``videoGenModelConfig`` with an own ``parentPostId``); the chat handler then runs it with
  the usual prelude and chat faults. A chat with ``modeId: "fast"`` and a message starting with
  ``Drawing: `` gets :meth:`MediaHandlers.lite_frames` instead of the echo answer.
* ``POST /rest/media/post/create``, ``POST /rest/media/imagine/quota_info`` (statsig prelude).
* ``GET /assets/{path}`` (cookie of the account whose ``users/<uid>/`` is in the path: 401
  without a valid cookie, 403 for another account's path, 404 for an unknown one) and
  ``GET /imagine-public/images/{name}`` (no cookie; only images made with ``public_urls``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .answers import split_tokens
from .imagine import ASSETS_BASE, dims
from .media_bytes import LIGHTHOUSE_ID, image_bytes, video_bytes
from .state import SimState
from .wire import FORBIDDEN, INVALID_CREDENTIALS, Frames, Pause, Plan, err, iso, sso_of

__all__ = [
    "EDIT_MODEL",
    "LITE_PREFIX",
    "POST_CREATE_PATH",
    "PRESETS",
    "QUOTA_INFO_PATH",
    "VIDEO_MODEL",
    "MediaHandlers",
    "is_lite",
    "is_media_request",
]

POST_CREATE_PATH = "/rest/media/post/create"
QUOTA_INFO_PATH = "/rest/media/imagine/quota_info"
EDIT_MODEL = "imagine-image-edit"
VIDEO_MODEL = "imagine-video-gen"
LITE_PREFIX = "Drawing: "
PRESETS: tuple[str, ...] = ("extremely-crazy", "normal", "extremely-spicy-or-crazy", "custom")
_MODE_RE = re.compile(r"^(?P<prompt>.*\S) --mode=(?P<mode>\S+)$", re.DOTALL)
Prelude = Callable[[Request, str], Awaitable["tuple[str, Any] | Response"]]


def is_media_request(body: Any) -> bool:
    return isinstance(body, dict) and "modelName" in body and "modeId" not in body


def is_lite(body: dict[str, Any]) -> bool:
    message = body.get("message")
    return (
        body.get("modeId") == "fast"
        and isinstance(message, str)
        and message.startswith(LITE_PREFIX)
    )


def _bad(message: str) -> JSONResponse:
    return JSONResponse(err(3, message), status_code=400)


def _resp(**fields: Any) -> dict[str, Any]:
    return {"result": {"response": fields}}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class MediaHandlers:
    def __init__(self, state: SimState, clock: Callable[[], float], prelude: Prelude) -> None:
        self.state = state
        self.clock = clock
        self.prelude = prelude

    def _uid(self, token: str) -> str:
        return self.state.accounts[token].user_id

    def _model_response(self, text: str, urls: list[str], cards: list[str]) -> dict[str, Any]:
        response = {
            "responseId": str(uuid.uuid4()),
            "message": text,
            "sender": "ASSISTANT",
            "createTime": iso(self.clock()),
            "generatedImageUrls": urls,
            "fileAttachments": [],
            "cardAttachmentsJson": cards,
            "streamErrors": [],
        }
        return _resp(modelResponse=response)

    # conversations/new: media -------------------------------------------------------------
    def plan(self, token: str, body: dict[str, Any]) -> Plan | Response:
        name = body.get("modelName")
        if name == EDIT_MODEL:
            return self._edit_plan(token, body)
        if name == VIDEO_MODEL:
            return self._video_plan(token, body)
        return _bad(f"modelName: unknown media model {name!r}")

    def _edit_plan(self, token: str, body: dict[str, Any]) -> Plan | Response:
        """GO3's edit: ``inputAssets`` are the uploads' ``fileMetadataId``s (never URLs); the
        body needs no ``temporary``, ``kind`` or ``responseMetadata`` (GO3 sends none, 2026-12)
        and they change nothing when sent."""
        i2i = _dict(_dict(body.get("mediaGenInput")).get("imageToImage"))
        prompt, assets = _text(i2i.get("prompt")), i2i.get("inputAssets")
        aspect = i2i.get("aspectRatio", "1:1")
        if _text(body.get("message")) is None or prompt is None:
            return _bad("message and mediaGenInput.imageToImage.prompt: required strings")
        if not isinstance(assets, list) or not 1 <= len(assets) <= 8:
            return _bad("mediaGenInput.imageToImage.inputAssets: 1 to 8 file ids")
        for file_id in assets:
            if not isinstance(file_id, str) or self.state.upload_of(token, file_id) is None:
                return _bad(f"inputAssets: file not found: {file_id}")
        if not isinstance(aspect, str):
            return _bad("mediaGenInput.imageToImage.aspectRatio: must be a string")
        return Plan(
            frames=lambda: self._edit_frames(token, prompt, list(assets), aspect),
            consume=lambda: self.state.media.spend(token, ["imageEdit"]),
        )

    def _edit_frames(self, token: str, prompt: str, assets: list[str], aspect: str) -> Frames:
        media = self.state.media
        fault = media.take(token, "edit")
        name = fault.name if fault else None
        media.record(
            "edit", token, prompt=prompt, input_assets=assets, aspect_ratio=aspect, fault=name
        )
        if name == "edit_no_image":
            text = "I couldn't edit that image."
            token_frame = _resp(token=text, isThinking=False, messageTag="final")
            return [token_frame, self._model_response(text, [], []), _resp(finalMetadata={})]
        image_id = media.new_id(token, "edit", prompt, *assets)
        path = f"users/{self._uid(token)}/generated/{image_id}/image.jpg"
        moderated = name == "moderate"
        frames: Frames = []
        for progress in (25, 60, 100):
            item = {"imageIndex": 0, "progress": progress, "imageUrl": path, "assetId": image_id}
            item |= {"moderated": moderated and progress >= 100, "isFinal": progress >= 100}
            frames.append(_resp(streamingImageGenerationResponse=item))
        if not moderated:
            media.add_image(token, image_id, path, image_bytes(image_id, *dims(aspect)))
        urls = [] if moderated else [path]
        return [*frames, self._model_response("", urls, []), _resp(finalMetadata={})]

    def _video_plan(self, token: str, body: dict[str, Any]) -> Plan | Response:
        found = _MODE_RE.match(body.get("message") or "") if _text(body.get("message")) else None
        if found is None or found["mode"] not in PRESETS:
            return _bad(f"message: must end with ' --mode=<preset>', preset one of {PRESETS}")
        t2v = _dict(body.get("mediaGenInput")).get("textToVideo")
        override = _dict(_dict(body.get("responseMetadata")).get("modelConfigOverride"))
        config = _dict(override.get("modelMap")).get("videoGenModelConfig")
        parent: str | None = None
        if isinstance(t2v, dict):
            prompt, length = _text(t2v.get("prompt")), _int(t2v.get("duration", 6))
            aspect, resolution = t2v.get("aspectRatio", "16:9"), t2v.get("resolutionName", "720p")
            if prompt is None or length is None or not 1 <= length <= 15:
                return _bad("textToVideo: prompt required, duration 1 to 15")
        elif isinstance(config, dict):
            prompt, length = found["prompt"], _int(config.get("videoLength", 6))
            aspect, resolution = config.get("aspectRatio", "9:16"), config.get("resolutionName")
            parent = config.get("parentPostId")
            post = self.state.media.post(parent) if isinstance(parent, str) else None
            if post is None or post.token != token:
                return _bad(f"videoGenModelConfig.parentPostId: post not found: {parent}")
            if length not in (6, 10):
                return _bad("videoGenModelConfig.videoLength: must be 6 or 10")
            resolution = resolution or "720p"
        else:
            return _bad("mediaGenInput.textToVideo or videoGenModelConfig: required")
        if not isinstance(aspect, str) or resolution not in ("480p", "720p"):
            return _bad("aspectRatio: must be a string; resolutionName: 480p or 720p")
        kinds = ["video", "video720p"] if resolution == "720p" else ["video"]
        mode, size = found["mode"], dims(aspect)
        return Plan(
            frames=lambda: self._video_frames(
                token, prompt, mode, resolution, size, length, parent
            ),
            consume=lambda: self.state.media.spend(token, kinds),
        )

    def _video_frames(
        self,
        token: str,
        prompt: str,
        mode: str,
        resolution: str,
        size: tuple[int, int],
        length: int,
        parent: str | None,
    ) -> Frames:
        media = self.state.media
        fault = media.take(token, "video")
        name = fault.name if fault else None
        media.record(
            "video", token, prompt=prompt, mode=mode, resolution=resolution, duration=length,
            parent_post_id=parent, fault=name,
        )  # fmt: skip
        video_id = media.new_id(token, "video", prompt, mode)
        post_id = media.add_post(token, "MEDIA_POST_TYPE_VIDEO", prompt=prompt).id
        base = f"users/{self._uid(token)}/generated"
        pause = Pause(media.video_step_delay)
        ids = {"videoId": video_id, "videoPostId": post_id}
        frames: Frames = []
        for progress in (1, 20, 45, 70, 95):
            item = {**ids, "progress": progress, "resolutionName": resolution}
            frames += [pause, _resp(streamingVideoGenerationResponse=item)]
        final: dict[str, Any] = {**ids, "progress": 100}
        if name in ("moderate", "video_moderated"):
            final["moderated"] = True
        else:
            asset_id = LIGHTHOUSE_ID if name == "video_lighthouse" else video_id
            url = f"{base}/{asset_id}/generated_video.mp4"
            thumb = f"{base}/{video_id}/preview_image.jpg"
            if asset_id == LIGHTHOUSE_ID:
                media.add_asset(token, url, video_bytes(LIGHTHOUSE_ID, "lighthouse"), "video/mp4")
            else:
                media.add_video(token, video_id, url, video_bytes(video_id, prompt, length))
            media.add_asset(token, thumb, image_bytes(video_id, *size), "image/jpeg")
            final |= {"assetId": asset_id, "videoUrl": url, "thumbnailImageUrl": thumb}
            final["moderated"] = False
        final["resolutionName"] = resolution
        done = _resp(token="I generated a video", isSoftStop=True)
        return [*frames, pause, _resp(streamingVideoGenerationResponse=final), done]

    # conversations/new: lite image through chat --------------------------------------------
    def lite_frames(self, token: str, body: dict[str, Any]) -> Frames:
        media = self.state.media
        prompt = body["message"][len(LITE_PREFIX) :]
        count = _int(body.get("imageGenerationCount"))
        count = min(4, max(1, count if count is not None else 2))
        fault = media.take(token, "lite")
        name = fault.name if fault else None
        media.record("lite", token, prompt=prompt, count=count, fault=name)
        uid = self._uid(token)
        text = f"I generated images with the prompt: '{prompt}'"
        tokens = split_tokens(text)
        cards: list[dict[str, Any]] = []
        for i in range(count):
            image_id = media.new_id(token, "lite", prompt, str(i))
            card_id = media.new_id(token, "card", image_id)
            tag = (
                f'<grok:render card_id="{card_id}" card_type="generated_image_card" '
                'type="render_file"></grok:render>'
            )
            tokens.append(tag)
            chunk = {
                "imageUuid": image_id,
                "imageUrl": f"users/{uid}/generated/{image_id}/image.jpg",
            }
            cards.append({"id": card_id, "type": "render_file", "cardType": "generated_image_card"})
            cards[-1]["image_chunk"] = chunk
        frames: Frames = [_resp(token=t, isThinking=False, messageTag="final") for t in tokens]
        urls: list[str] = []
        finals: list[str] = []
        for i, card in enumerate(cards):
            moderated = name == "moderate" or (name == "moderate_some" and i == 0)
            for progress in (50, 100):
                chunk = {**card["image_chunk"], "progress": progress}
                chunk["moderated"] = moderated and progress == 100
                data = json.dumps({**card, "image_chunk": chunk}, separators=(",", ":"))
                frames.append(_resp(cardAttachment={"jsonData": data}))
            finals.append(data)
            if not moderated:
                path, image_id = chunk["imageUrl"], chunk["imageUuid"]
                media.add_image(token, image_id, path, image_bytes(image_id))
                urls.append(path)
        frames.append(self._model_response("".join(tokens), urls, finals))
        frames.append(_resp(finalMetadata={"followUpSuggestions": []}))
        return frames

    # other REST endpoints ------------------------------------------------------------------
    async def post_create(self, request: Request) -> Response:
        pre = await self.prelude(request, POST_CREATE_PATH)
        if isinstance(pre, Response):
            return pre
        token, body = pre
        body = _dict(body)
        kind, url, prompt = body.get("mediaType"), body.get("mediaUrl"), body.get("prompt")
        media = self.state.media
        if kind == "MEDIA_POST_TYPE_IMAGE":
            path = url.removeprefix(ASSETS_BASE).lstrip("/") if isinstance(url, str) else ""
            asset = media.asset(path) if path else None
            if asset is None or asset.token != token:
                return _bad(f"mediaUrl: not an asset of this account: {url!r}")
            post = media.add_post(token, kind, media_url=url)
        elif kind == "MEDIA_POST_TYPE_VIDEO" and _text(prompt):
            post = media.add_post(token, kind, prompt=prompt)
        else:
            return _bad("mediaType: MEDIA_POST_TYPE_IMAGE with mediaUrl or _VIDEO with prompt")
        media.record("post", token, media_type=kind, media_url=post.media_url, prompt=post.prompt)
        answer: dict[str, Any] = {"id": post.id, "userId": self._uid(token), "mediaType": kind}
        answer |= {"mediaUrl": post.media_url} if post.media_url else {"prompt": post.prompt}
        answer["createTime"] = iso(self.clock())
        return JSONResponse({"post": answer})

    async def quota_info(self, request: Request) -> Response:
        pre = await self.prelude(request, QUOTA_INFO_PATH)
        if isinstance(pre, Response):
            return pre
        token, body = pre
        if not isinstance(body, dict):
            return _bad("request body must be a JSON object")
        self.state.media.record("quota_info", token)
        return JSONResponse(self.state.media.quota_info(token))

    async def asset(self, request: Request) -> Response:
        path: str = request.path_params["path"]
        token = sso_of(self.state, request.cookies)
        self.state.media.record("asset", request.cookies.get("sso"), path=path)
        if token is None:
            return JSONResponse(INVALID_CREDENTIALS, status_code=401)
        parts = path.split("/")
        if len(parts) > 1 and parts[0] == "users" and parts[1] != self._uid(token):
            return JSONResponse(FORBIDDEN, status_code=403)
        found = self.state.media.asset(path)
        if found is None:
            return JSONResponse(err(5, "asset not found"), status_code=404)
        if found.token != token:
            return JSONResponse(FORBIDDEN, status_code=403)
        return Response(found.data, media_type=found.mime)

    async def public_image(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        self.state.media.record("public_asset", None, name=name)
        found = self.state.media.public(name)
        if found is None:
            return JSONResponse(err(5, "image not found"), status_code=404)
        return Response(found.data, media_type=found.mime)
