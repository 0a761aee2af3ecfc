"""grok.com's media flows for one account per call (docs/grok-protocol.md §6, §7, §8.2).

:class:`GrokMediaClient` is the I/O shell: it opens the imagine WebSocket or the REST streams,
signs what needs ``x-statsig-id``, uploads inputs, and hands the frames to the pure parsers of
:mod:`~grokgate.upstream.grokweb.imagine` and :mod:`~grokgate.upstream.grokweb.media_stream`.
Every failure is an :class:`~grokgate.errors.UpstreamError` with a verdict on the account.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from typing import Any, Literal, Protocol

from grokgate.errors import (
    ContentModeratedError,
    TransportError,
    TransportTimeoutError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    Verdict,
)
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress, Response, Socket
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb import assets
from grokgate.upstream.grokweb.assets import GROK_ASSETS, PUBLIC_HOSTS, AssetHosts
from grokgate.upstream.grokweb.base import GrokWebBase
from grokgate.upstream.grokweb.imagine import MAX_ROUNDS, ROUND_GRACE, imagine_over_ws
from grokgate.upstream.grokweb.imagine_quota import ImagineWindow, parse_imagine_quota
from grokgate.upstream.grokweb.media_request import (
    IMAGINE_REFERER,
    POST_CREATE_PATH,
    QUOTA_PATH,
    edit_body,
    image_video_body,
    imagine_ws_url,
    lite_body,
    post_create_body,
    text_video_body,
    upload_media_url,
)
from grokgate.upstream.grokweb.media_stream import (
    EditParser,
    LiteImageParser,
    VideoParser,
    parse_post_id,
)
from grokgate.upstream.grokweb.media_types import (
    Downloaded,
    GeneratedImage,
    GeneratedVideo,
    VideoParams,
    VideoProgress,
)
from grokgate.upstream.grokweb.ndjson import aiter_frames
from grokgate.upstream.grokweb.request import CHAT_PATH, ORIGIN, api_headers, socket_headers
from grokgate.upstream.grokweb.statsig import Signer
from grokgate.upstream.grokweb.upload import (
    IMAGINE_SELF_UPLOAD_FILE_SOURCE,
    UploadedFile,
    upload_file_meta,
)
from grokgate.upstream.grokweb.web import GrokWeb
from grokgate.upstream.http import read_body, until

_JSON_BODY_LIMIT = 256 * 1024
JSON_CALL_TIMEOUT = 30.0  # media/post/create, quota_info


class _Parser(Protocol):
    finished: bool

    def feed(self, frame: Any) -> None: ...


class GrokMediaClient(GrokWebBase):
    """Images, edits, videos, downloads and Imagine quota; only read-only state is held."""

    transport = "rest"

    def __init__(
        self,
        web: GrokWeb,
        *,
        signer: Signer,
        assets_url: str = GROK_ASSETS,
        public_hosts: Sequence[str] = PUBLIC_HOSTS,
        max_download_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__(web)
        self.signer = signer
        self.hosts = AssetHosts(assets_url, tuple(public_hosts))
        self.max_download_bytes = max_download_bytes
        self.ws_url = imagine_ws_url(self.base_url)
        self.max_rounds = MAX_ROUNDS
        self.round_grace = ROUND_GRACE
        self.download_retry_delays: Sequence[float] = assets.DOWNLOAD_RETRY_DELAYS

    def asset_url(self, path_or_url: str) -> tuple[str, bool]:
        """``(URL, public?)`` for a media URL or path grok.com named (§6.5)."""
        return self.hosts.map(path_or_url)

    # --- imagine WebSocket -----------------------------------------------------------------

    async def imagine(
        self, account: Account, prompt: str, *, n: int, aspect_ratio: str, pro: bool
    ) -> list[GeneratedImage]:
        """Up to ``n`` pictures over the imagine socket (rounds until enough, §6.1)."""
        if n < 1:
            return []
        egress = await self.web.egress(account)

        def headers(through: Egress) -> dict[str, str]:
            cookie = self.web.cookie(account, through)
            return socket_headers(cookie=cookie, fingerprint=through.fingerprint)

        async def open_socket() -> Socket:
            return await self.web.socket(egress, self.ws_url, headers=headers)

        return await imagine_over_ws(
            open_socket,
            hosts=self.hosts,
            prompt=prompt,
            n=n,
            aspect_ratio=aspect_ratio,
            pro=pro,
            deadline=self.deadline,
            max_rounds=self.max_rounds,
            grace=self.round_grace,
        )

    # --- REST streams ----------------------------------------------------------------------

    async def lite_image(self, account: Account, prompt: str, *, n: int) -> list[GeneratedImage]:
        """Pictures through a ``Drawing: ...`` chat (§6.2), ``ceil(n/2)`` chats in parallel."""
        if n < 1:
            return []
        egress = await self.web.egress(account)

        async def once() -> list[GeneratedImage]:
            parser = LiteImageParser(self.hosts)
            await self._stream_call(account, egress, lite_body(prompt), ORIGIN + "/", parser)
            return parser.result()

        outcomes = await asyncio.gather(
            *(once() for _ in range(math.ceil(n / 2))), return_exceptions=True
        )
        images: dict[str, GeneratedImage] = {}
        errors: list[UpstreamError] = []
        for outcome in outcomes:
            if isinstance(outcome, UpstreamError):
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                for image in outcome:
                    images.setdefault(image.image_id or image.url or "", image)
        if images:
            return list(images.values())[:n]
        # the most telling error: anything about the account before "moderated"
        errors.sort(key=lambda e: isinstance(e, ContentModeratedError))
        raise errors[0] if errors else UpstreamError("grok.com finished the chat without an image")

    async def edit_image(
        self,
        account: Account,
        prompt: str,
        images: Sequence[Attachment],
        *,
        aspect_ratio: str | None,
    ) -> list[GeneratedImage]:
        """Edit (GO3 flow, §6.3): upload every input, then one ``imageToImage`` chat."""
        egress = await self.web.egress(account)
        file_ids = [(await self._upload(account, egress, image)).file_id for image in images]
        parser = EditParser(self.hosts)
        body = edit_body(prompt, file_ids, aspect_ratio)
        await self._stream_call(account, egress, body, IMAGINE_REFERER, parser)
        return parser.result()

    async def video(
        self, account: Account, params: VideoParams, reference: Attachment | None = None
    ) -> AsyncIterator[VideoProgress | GeneratedVideo]:
        """Progress frames as they come, then exactly one :class:`GeneratedVideo` (§7).

        Without ``reference``: GO3 text to video. With it: upload, media post, PY2 body.
        """
        egress = await self.web.egress(account)
        if reference is None:
            body = text_video_body(params)
        else:
            uploaded = await self._upload(account, egress, reference)
            if not uploaded.file_uri:
                raise UpstreamError("grok.com's upload answer names no file URI")
            media_url = upload_media_url(uploaded.file_uri)
            raw = await self._json_call(
                account, egress, POST_CREATE_PATH, post_create_body(media_url)
            )
            post_id = parse_post_id(raw)
            body = image_video_body(params, post_id=post_id, media_url=media_url)
        deadline_at = asyncio.get_running_loop().time() + self.deadline
        too_long = f"grok.com's video took longer than {self.deadline:g} s"
        async with AsyncExitStack() as stack:
            try:  # the answer's first byte included
                async with asyncio.timeout_at(deadline_at):
                    response = await stack.enter_async_context(
                        self._open(account, egress, CHAT_PATH, body, IMAGINE_REFERER)
                    )
            except (TimeoutError, TransportTimeoutError) as exc:
                raise UpstreamTimeoutError(too_long) from exc
            try:
                parser = VideoParser(self.hosts)
                frames = until(deadline_at, aiter_frames(response.aiter_bytes()))
                async with aclosing(frames):  # type: ignore[type-var]
                    async for frame in frames:
                        for item in parser.feed(frame):
                            yield item
                        if parser.done:
                            return
                raise UpstreamStreamError("grok.com's video stream ended without the video")
            except TimeoutError as exc:  # silent or slow: the deadline holds either way
                raise UpstreamTimeoutError(too_long) from exc
            except TransportTimeoutError as exc:
                raise UpstreamTimeoutError(
                    "grok.com went silent in the middle of the video"
                ) from exc
            except TransportError as exc:
                raise UpstreamStreamError(f"grok.com's stream broke ({exc.message})") from exc

    # --- downloads and quota ---------------------------------------------------------------

    async def download(
        self,
        account: Account,
        url: str,
        *,
        kind: Literal["image", "video"],
        max_bytes: int | None = None,
    ) -> Downloaded:
        """The bytes of a media file: asset host with the account's cookies, public hosts
        without; any other host is refused."""
        return await assets.download(
            self.web,
            account,
            url,
            kind=kind,
            hosts=self.hosts,
            max_bytes=self.max_download_bytes if max_bytes is None else max_bytes,
            seconds=self.deadline,
            delays=self.download_retry_delays,
        )

    async def imagine_quota(self, account: Account) -> dict[str, ImagineWindow | None]:
        """``quota_info`` (§8.2): the five Imagine groups, each a window or None."""
        egress = await self.web.egress(account)
        raw = await self._json_call(account, egress, QUOTA_PATH, {})
        try:
            return parse_imagine_quota(raw)
        except ValueError as exc:
            raise UpstreamError(f"grok.com's Imagine quota answer is unusable: {exc}") from exc

    # --- helpers ---------------------------------------------------------------------------

    async def _upload(
        self, account: Account, egress: Egress, attachment: Attachment
    ) -> UploadedFile:
        return await upload_file_meta(
            self.web, egress, account, attachment, file_source=IMAGINE_SELF_UPLOAD_FILE_SOURCE
        )

    @asynccontextmanager
    async def _open(
        self, account: Account, egress: Egress, path: str, body: dict[str, Any], referer: str
    ) -> AsyncIterator[Response]:
        """Send a signed JSON POST and yield the 200 response, still streaming."""
        raw = json.dumps(body, ensure_ascii=False).encode()

        def headers(through: Egress, statsig: str) -> dict[str, str]:
            cookie = self.web.cookie(account, through)
            return api_headers(
                cookie=cookie, statsig=statsig, fingerprint=through.fingerprint, referer=referer
            )

        async with AsyncExitStack() as stack:
            yield await self._signed(stack, egress, path, raw, headers)

    async def _stream_call(
        self, account: Account, egress: Egress, body: dict[str, Any], referer: str, parser: _Parser
    ) -> None:
        """``conversations/new`` with ``body``, every frame into ``parser``, within the
        deadline."""
        try:
            async with (
                asyncio.timeout(self.deadline),
                self._open(account, egress, CHAT_PATH, body, referer) as response,
            ):
                async for frame in aiter_frames(response.aiter_bytes()):
                    parser.feed(frame)
                    if parser.finished:
                        break
        except TimeoutError as exc:
            raise UpstreamTimeoutError(
                f"grok.com's answer took longer than {self.deadline:g} s"
            ) from exc
        except TransportTimeoutError as exc:
            raise UpstreamTimeoutError("grok.com went silent in the middle of the answer") from exc
        except TransportError as exc:
            if exc.verdict is Verdict.EGRESS:
                raise
            raise UpstreamStreamError(f"grok.com's stream broke ({exc.message})") from exc

    async def _json_call(
        self, account: Account, egress: Egress, path: str, body: dict[str, Any]
    ) -> bytes:
        """A signed JSON POST (referer /imagine) → the raw 200 body."""
        try:
            async with (
                asyncio.timeout(min(self.deadline, JSON_CALL_TIMEOUT)),
                self._open(account, egress, path, body, IMAGINE_REFERER) as response,
            ):
                return await read_body(
                    response, _JSON_BODY_LIMIT, too_large="grok.com's answer is too large"
                )
        except (TimeoutError, TransportTimeoutError) as exc:
            raise UpstreamTimeoutError("grok.com did not answer in time") from exc
