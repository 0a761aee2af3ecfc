"""grok.com's NDJSON media frames → results (docs/grok-protocol.md §4.2, §4.4, §6.2, §6.3, §7.3).

Three pure parsers, one per flow, each fed the decoded frames of one answer:

* :class:`LiteImageParser`: chat image cards (``cardAttachment.jsonData`` with ``image_chunk``);
* :class:`EditParser`: ``streamingImageGenerationResponse`` with the
  ``modelResponse.generatedImageUrls`` fallback;
* :class:`VideoParser`: ``streamingVideoGenerationResponse`` progress and the final video,
  checked against the video id the stream announced (the "lighthouse" trap, §7.3).

In-band errors (top-level ``error``, ``result.response.error``) raise through
:func:`~grokgate.upstream.grokweb.classify.classify_inband`. ``feed`` raises nothing but
:class:`~grokgate.errors.UpstreamError`; unusable pieces of a frame are skipped.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from grokgate.errors import ContentModeratedError, UpstreamError, Verdict
from grokgate.upstream.grokweb.assets import AssetHosts
from grokgate.upstream.grokweb.classify import classify_inband
from grokgate.upstream.grokweb.imagine import image_id_from_url, sniff_image_mime
from grokgate.upstream.grokweb.media_types import GeneratedImage, GeneratedVideo, VideoProgress

_M = TypeVar("_M", bound=BaseModel)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class ImageChunk(_Wire):
    imageUuid: str | None = None
    imageUrl: str | None = None
    progress: float | None = None
    moderated: bool = False
    systemErrCode: str | None = None


class ImageCard(_Wire):
    id: str | None = None
    cardType: str | None = None
    image_chunk: ImageChunk | None = None


class StreamingImage(_Wire):
    imageIndex: int | None = None
    progress: float | None = None
    imageUrl: str | None = None
    assetId: str | None = None
    moderated: bool = False
    isFinal: bool = False


class ModelResponse(_Wire):
    generatedImageUrls: list[str] = []


class StreamingVideo(_Wire):
    videoId: str | None = None
    videoPostId: str | None = None
    progress: float | None = None
    videoUrl: str | None = None
    assetId: str | None = None
    thumbnailImageUrl: str | None = None
    moderated: bool = False


class _Post(_Wire):
    id: str


class _PostReply(_Wire):
    post: _Post


def parse_post_id(raw: bytes) -> str:
    """The id of the post a ``media/post/create`` answer (``{"post": {"id": ..}}``) names."""
    try:
        return _PostReply.model_validate_json(raw).post.id
    except ValidationError as exc:
        raise UpstreamError("grok.com's media post answer is unusable") from exc


def _model(model: type[_M], raw: Any) -> _M | None:
    if not isinstance(raw, dict):
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


def response_of(frame: Any) -> dict[str, Any] | None:
    """``result.response`` of a frame; raises the in-band errors."""
    if not isinstance(frame, dict):
        return None
    if "error" in frame and "result" not in frame:
        raise classify_inband(frame["error"], nested=False)
    result = frame.get("result")
    response = result.get("response") if isinstance(result, dict) else None
    if not isinstance(response, dict):
        return None
    if response.get("error"):
        raise classify_inband(response["error"], nested=True)
    return response


def _is_end(response: dict[str, Any]) -> bool:
    return "finalMetadata" in response


def _map(hosts: AssetHosts, url: str | None) -> tuple[str, bool] | None:
    if not url:
        return None
    try:
        return hosts.map(url)
    except UpstreamError:
        return None


def _image(hosts: AssetHosts, url: str | None, image_id: str | None) -> GeneratedImage | None:
    mapped = _map(hosts, url)
    if mapped is None:
        return None
    return GeneratedImage(
        url=mapped[0],
        mime=sniff_image_mime(None, url),
        image_id=image_id or image_id_from_url(url),
        public=mapped[1],
    )


class LiteImageParser:
    """Image cards of a ``Drawing: ...`` chat: every final (progress 100), unmoderated chunk."""

    def __init__(self, hosts: AssetHosts) -> None:
        self.hosts = hosts
        self.images: dict[str, GeneratedImage] = {}
        self.moderated = False
        self.rate_limited = False
        self.finished = False

    def feed(self, frame: Any) -> None:
        response = response_of(frame)
        if response is None or self.finished:
            return
        cards: list[Any] = []
        if "cardAttachment" in response:
            cards.append(response["cardAttachment"])
        extra = response.get("cardAttachments")
        if isinstance(extra, list):
            cards.extend(extra)
        for card in cards:
            self._card(card)
        self.finished = _is_end(response)

    def _card(self, card: Any) -> None:
        data = card.get("jsonData") if isinstance(card, dict) else None
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                return
        parsed = _model(ImageCard, data)
        chunk = parsed.image_chunk if parsed else None
        if chunk is None:
            return
        if chunk.systemErrCode and "rate" in chunk.systemErrCode.lower():
            self.rate_limited = True
        if (chunk.progress or 0) < 100:
            return
        if chunk.moderated:
            self.moderated = True
            return
        image = _image(self.hosts, chunk.imageUrl, chunk.imageUuid)
        if image is not None:
            self.images.setdefault(image.image_id or image.url or "", image)

    def result(self) -> list[GeneratedImage]:
        if self.images:
            return list(self.images.values())
        if self.rate_limited:
            raise UpstreamError(
                "grok.com refused the image: the account hit its rate limit",
                verdict=Verdict.RATE_LIMITED,
            )
        if self.moderated:
            raise ContentModeratedError("grok.com's moderation withheld the image")
        raise UpstreamError("grok.com finished the chat without an image")


class EditParser:
    """An image edit's stream: the final ``streamingImageGenerationResponse`` pictures, or the
    ``modelResponse.generatedImageUrls`` when no streamed picture was final."""

    def __init__(self, hosts: AssetHosts) -> None:
        self.hosts = hosts
        self.finals: dict[str, GeneratedImage] = {}
        self.fallback: list[str] = []
        self.moderated_urls: set[str] = set()
        self.moderated = False
        self.finished = False

    def feed(self, frame: Any) -> None:
        response = response_of(frame)
        if response is None or self.finished:
            return
        streamed = _model(StreamingImage, response.get("streamingImageGenerationResponse"))
        if streamed is not None and ((streamed.progress or 0) >= 100 or streamed.isFinal):
            if streamed.moderated:
                self.moderated = True
                if streamed.imageUrl:
                    self.moderated_urls.add(streamed.imageUrl)
            else:
                image = _image(self.hosts, streamed.imageUrl, streamed.assetId)
                if image is not None and image.url is not None:
                    self.finals.setdefault(image.url, image)
        summary = _model(ModelResponse, response.get("modelResponse"))
        if summary is not None:
            self.fallback.extend(
                u for u in summary.generatedImageUrls if u and u not in self.moderated_urls
            )
        self.finished = _is_end(response)

    def result(self) -> list[GeneratedImage]:
        if self.finals:
            return list(self.finals.values())
        images: dict[str, GeneratedImage] = {}
        for url in self.fallback:
            image = _image(self.hosts, url, None)
            if image is not None and image.url is not None:
                images.setdefault(image.url, image)
        if images:
            return list(images.values())
        if self.moderated:
            raise ContentModeratedError("grok.com's moderation withheld the edited image")
        raise UpstreamError(
            "grok.com finished the edit without an image", verdict=Verdict.UNAVAILABLE
        )


def names_video(url: str, asset_id: str | None, video_id: str) -> bool:
    """Whether a final ``videoUrl`` (and ``assetId``) belong to ``video_id``."""
    segments = urlsplit(url).path.split("/")
    return video_id in segments and (asset_id is None or asset_id == video_id)


class VideoParser:
    """A video's stream → :class:`VideoProgress` items, then one :class:`GeneratedVideo`."""

    def __init__(self, hosts: AssetHosts) -> None:
        self.hosts = hosts
        self.video_id: str | None = None
        self.post_id: str | None = None
        self.done = False

    def feed(self, frame: Any) -> list[VideoProgress | GeneratedVideo]:
        if self.done:
            return []
        response = response_of(frame)
        if response is None:
            return []
        video = _model(StreamingVideo, response.get("streamingVideoGenerationResponse"))
        if video is None:
            return []
        if video.moderated:
            raise ContentModeratedError("grok.com's moderation withheld the video")
        self.video_id = self.video_id or video.videoId
        self.post_id = self.post_id or video.videoPostId
        percent = int(max(0.0, min(100.0, video.progress or 0.0)))
        if percent < 100 or not video.videoUrl:
            return [VideoProgress(percent=percent, video_id=self.video_id)]
        return [self._final(video)]

    def _final(self, video: StreamingVideo) -> GeneratedVideo:
        expected = self.video_id
        url = video.videoUrl or ""
        if (
            expected is None
            or (video.videoId is not None and video.videoId != expected)
            or not names_video(url, video.assetId, expected)
        ):
            raise UpstreamError(
                "grok.com returned a different video than the one it generated "
                "(a placeholder such as its lighthouse demo)",
                verdict=Verdict.UNAVAILABLE,
                code="upstream_wrong_video",
            )
        mapped = _map(self.hosts, url)
        if mapped is None:
            raise UpstreamError("grok.com named the video on an unexpected host")
        thumb = _map(self.hosts, video.thumbnailImageUrl)
        self.done = True
        return GeneratedVideo(
            url=mapped[0],
            video_id=expected,
            post_id=video.videoPostId or self.post_id,
            thumbnail_url=thumb[0] if thumb else None,
        )
