"""Images: text to image (imagine WebSocket, or a fast chat for ``-lite``) and image edits.

Each request runs on one leased account (retried on another when that may help). Pictures come
back as bytes (grok.com's inline blob, or downloaded through the account that made them: asset
hosts need its cookies) and are handed to the client as base64 or as a URL it can open: a file
in the media store (S3 presigned, or a signed local URL). Pictures on a public Imagine host are
passed through as they are.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from grokgate.core.accounts.attempts import with_account
from grokgate.core.accounts.pool import AccountPool
from grokgate.core.attachments import sniff
from grokgate.core.registry import Kind, ModelSpec
from grokgate.errors import InvalidRequestError, UpstreamError
from grokgate.stores.media import MediaStore
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.media_types import Downloaded, GeneratedImage

Format = Literal["url", "b64_json"]
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}

# OpenAI sizes and ratios → grok's aspect ratios (docs/grok-protocol.md §6.1; GO3's extra
# ratios too)
_SIZES = {
    "1280x720": "16:9",
    "720x1280": "9:16",
    "1792x1024": "3:2",
    "1024x1792": "2:3",
    "1536x1024": "3:2",
    "1024x1536": "2:3",
    "1024x1024": "1:1",
    "512x512": "1:1",
    "256x256": "1:1",
}
RATIOS = ("1:1", "16:9", "9:16", "3:2", "2:3", "4:3", "3:4", "2:1", "1:2", "19.5:9", "9:19.5")
DEFAULT_RATIO = "2:3"


def aspect_ratio(size: str | None) -> str:
    """The aspect ratio for an OpenAI ``size`` (``WxH``, a ratio, or ``auto``)."""
    if size is None or size == "auto" or size == "":
        return DEFAULT_RATIO
    ratio = _SIZES.get(size) or (size if size in RATIOS else None)
    if ratio is None:
        known = ", ".join([*_SIZES, *RATIOS, "auto"])
        raise InvalidRequestError(
            f"Invalid size {size!r}: use one of {known}", param="size", code="invalid_size"
        )
    return ratio


class ImageUpstream(Protocol):
    async def imagine(
        self, account: Account, prompt: str, *, n: int, aspect_ratio: str, pro: bool
    ) -> list[GeneratedImage]: ...

    async def lite_image(
        self, account: Account, prompt: str, *, n: int
    ) -> list[GeneratedImage]: ...

    async def edit_image(
        self,
        account: Account,
        prompt: str,
        images: Sequence[Attachment],
        *,
        aspect_ratio: str | None,
    ) -> list[GeneratedImage]: ...

    async def download(
        self,
        account: Account,
        url: str,
        *,
        kind: Literal["image", "video"],
        max_bytes: int | None = None,
    ) -> Downloaded: ...


@dataclass(frozen=True, slots=True)
class ImageRequest:
    spec: ModelSpec
    prompt: str
    n: int = 1
    size: str | None = None
    response_format: Format = "url"
    inputs: tuple[Attachment, ...] = ()  # the pictures to edit


@dataclass(frozen=True, slots=True)
class OutputImage:
    """One picture for the client: ``url`` or ``b64_json``, as it asked."""

    url: str | None = None
    b64_json: str | None = None
    mime: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class ImageAnswer:
    created: int
    images: list[OutputImage]
    account: str


def check_request(req: ImageRequest) -> None:
    """400s for what no account could serve (before anything is leased)."""
    spec = req.spec
    if not spec.kind.is_image:
        raise InvalidRequestError(
            f"The model {spec.id!r} does not make images", param="model", code="invalid_model"
        )
    if not req.prompt.strip():
        raise InvalidRequestError("prompt must not be empty", param="prompt")
    if not 1 <= req.n <= spec.max_n:
        raise InvalidRequestError(
            f"n must be between 1 and {spec.max_n} for {spec.id}", param="n", code="invalid_n"
        )
    if spec.kind is Kind.IMAGE_EDIT and not req.inputs:
        raise InvalidRequestError("image: at least one image to edit is required", param="image")


class ImageService:
    def __init__(
        self,
        pool: AccountPool,
        upstream: ImageUpstream,
        media: MediaStore,
        *,
        max_retries: int = 1,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.pool = pool
        self.upstream = upstream
        self.media = media
        self.max_retries = max_retries
        self.max_bytes = max_bytes

    async def generate(self, req: ImageRequest, *, base_url: str) -> ImageAnswer:
        check_request(req)
        ratio = aspect_ratio(req.size) if req.spec.kind is Kind.IMAGE else None
        edit_ratio = aspect_ratio(req.size) if req.size and req.size != "auto" else None
        served: list[str] = []

        async def work(account: Account) -> list[tuple[GeneratedImage, bytes | None]]:
            served.append(account.id)
            images = await self._make(account, req, ratio, edit_ratio)
            return [(image, await self._bytes(account, image, req)) for image in images]

        made = await with_account(self.pool, req.spec, work, max_retries=self.max_retries)
        out = [await self._output(image, data, req, base_url) for image, data in made]
        return ImageAnswer(created=int(time.time()), images=out, account=served[-1])

    async def _make(
        self, account: Account, req: ImageRequest, ratio: str | None, edit_ratio: str | None
    ) -> list[GeneratedImage]:
        kind, up = req.spec.kind, self.upstream
        if kind is Kind.IMAGE:
            assert ratio is not None
            images = await up.imagine(
                account, req.prompt, n=req.n, aspect_ratio=ratio, pro=req.spec.pro
            )
        elif kind is Kind.IMAGE_LITE:
            images = await up.lite_image(account, req.prompt, n=req.n)
        else:  # one edit answers one picture (GO3): ask again for more
            images = []
            while len(images) < req.n:
                more = await up.edit_image(account, req.prompt, req.inputs, aspect_ratio=edit_ratio)
                if not more:
                    break
                images.extend(more)
        if not images:
            raise UpstreamError(f"grok.com answered {req.spec.id} without any image")
        return images[: req.n]

    async def _bytes(
        self, account: Account, image: GeneratedImage, req: ImageRequest
    ) -> bytes | None:
        """The picture's bytes, unless the client gets a public URL as it is."""
        if image.data is not None:
            return image.data
        if image.url is None:
            raise UpstreamError("grok.com sent an image without bytes or a URL")
        if image.public and req.response_format == "url":
            return None
        got = await self.upstream.download(
            account, image.url, kind="image", max_bytes=self.max_bytes
        )
        return got.data

    async def _output(
        self, image: GeneratedImage, data: bytes | None, req: ImageRequest, base_url: str
    ) -> OutputImage:
        if data is None:  # a public Imagine URL, passed through
            assert image.url is not None
            return OutputImage(url=image.url, mime=image.mime)
        mime = sniff(data) or image.mime
        if not mime.startswith("image/"):
            raise UpstreamError("grok.com sent an image that is not a picture")
        if req.response_format == "b64_json":
            return OutputImage(b64_json=base64.b64encode(data).decode("ascii"), mime=mime)
        return OutputImage(url=await self.keep(data, mime, base_url), mime=mime)

    async def keep(self, data: bytes, mime: str, base_url: str) -> str:
        """Store one picture in the media store; returns its URL for the client."""
        key = f"images/{time.strftime('%Y%m%d')}/{uuid.uuid4().hex}.{_EXT.get(mime, 'bin')}"
        await self.media.put(key, data, mime)
        return await self.media.url(key, base_url=base_url, content_type=mime)
