"""grok.com web chat over REST: ``POST /rest/app-chat/conversations/new`` → NDJSON stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, aclosing

from grokgate.errors import (
    TransportError,
    TransportTimeoutError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
)
from grokgate.events import Event, Served, TextDelta
from grokgate.logs import get_logger
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress, Response
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.adapter import FrameAdapter
from grokgate.upstream.grokweb.base import GrokWebBase
from grokgate.upstream.grokweb.ndjson import aiter_frames
from grokgate.upstream.grokweb.ratelimits import (
    RATE_LIMITS_BODY_LIMIT,
    RATE_LIMITS_TIMEOUT,
    RateLimits,
    parse_rate_limits,
    rate_limits_body,
)
from grokgate.upstream.grokweb.request import (
    CHAT_PATH,
    RATE_LIMITS_PATH,
    api_headers,
    chat_body,
)
from grokgate.upstream.grokweb.statsig import Signer
from grokgate.upstream.grokweb.web import GrokWeb
from grokgate.upstream.http import read_body, until

log = get_logger("grokweb")


class GrokWebClient(GrokWebBase):
    """Streams one answer per call; holds only process-wide, read-only state."""

    transport = "rest"

    def __init__(self, web: GrokWeb, *, signer: Signer) -> None:
        super().__init__(web)
        self.signer = signer

    async def chat(
        self,
        account: Account,
        message: str,
        mode: str,
        *,
        show_reasoning: bool = True,
        attachments: Sequence[Attachment] = (),
    ) -> AsyncIterator[Event]:
        """Upload ``attachments`` (upload v2), then yield :class:`Served` once grok.com accepted
        the chat, then the answer's events.

        Raises :class:`UpstreamError` (with a verdict on the account) for every failure.
        """
        egress, file_ids = await self._prepare(account, attachments)
        body = json.dumps(chat_body(message, mode, file_ids), ensure_ascii=False).encode()
        headers = self._headers(account)
        deadline_at = asyncio.get_running_loop().time() + self.deadline
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout_at(deadline_at):  # the answer's first byte included
                    response = await self._signed(stack, egress, CHAT_PATH, body, headers)
            except (TimeoutError, TransportTimeoutError) as exc:
                raise UpstreamTimeoutError("grok.com did not answer in time") from exc
            yield Served(account=account.id, transport=self.transport)
            async for event in self._answer(response, deadline_at, show_reasoning):
                yield event

    async def _answer(
        self, response: Response, deadline_at: float, show_reasoning: bool
    ) -> AsyncIterator[Event]:
        """The events of a 200 chat answer, until it is complete or the deadline passes."""
        adapter = FrameAdapter(show_reasoning=show_reasoning)
        text_seen = False
        try:
            frames = until(deadline_at, aiter_frames(response.aiter_bytes()))
            async with aclosing(frames):  # type: ignore[type-var]
                async for frame in frames:
                    for event in adapter.feed(frame):
                        text_seen = text_seen or isinstance(event, TextDelta)
                        yield event
                    if adapter.finished:
                        break
        except TimeoutError as exc:
            raise UpstreamTimeoutError(
                f"grok.com's answer took longer than {self.deadline:g} s"
            ) from exc
        except TransportTimeoutError as exc:
            raise UpstreamTimeoutError("grok.com went silent in the middle of the answer") from exc
        except TransportError as exc:
            raise UpstreamStreamError(f"grok.com's stream broke ({exc.message})") from exc
        if not adapter.finished:
            raise UpstreamStreamError("grok.com's stream ended before the answer was complete")
        if not text_seen:
            raise UpstreamStreamError("grok.com finished without any answer text")

    def _headers(self, account: Account) -> Callable[[Egress, str], dict[str, str]]:
        """A signed JSON call's headers for ``account`` through an egress, with a statsig."""

        def headers(through: Egress, statsig: str) -> dict[str, str]:
            cookie = self.web.cookie(account, through)
            return api_headers(cookie=cookie, statsig=statsig, fingerprint=through.fingerprint)

        return headers

    async def rate_limits(self, account: Account, mode: str) -> RateLimits:
        """``POST /rest/rate-limits`` for one mode of ``account`` (docs/grok-protocol.md §8.1).

        Raises :class:`UpstreamError` with a verdict on the account for a non-200 answer (401 →
        EXPIRED, ...), and with verdict UNAVAILABLE for an answer that is not the expected JSON.
        The whole call is bounded by ``RATE_LIMITS_TIMEOUT`` seconds.
        """
        body = json.dumps(rate_limits_body(mode)).encode()
        headers = self._headers(account)
        try:
            async with asyncio.timeout(RATE_LIMITS_TIMEOUT), AsyncExitStack() as stack:
                egress = await self.web.egress(account)
                response = await self._signed(
                    stack, egress, RATE_LIMITS_PATH, body, headers, seconds=RATE_LIMITS_TIMEOUT
                )
                raw = await read_body(
                    response,
                    RATE_LIMITS_BODY_LIMIT,
                    too_large="grok.com's rate-limit answer is too large",
                )
        except (TimeoutError, TransportTimeoutError) as exc:
            raise UpstreamTimeoutError(
                "grok.com did not answer the rate-limit query in time"
            ) from exc
        try:
            return parse_rate_limits(raw)
        except ValueError as exc:
            raise UpstreamError(f"grok.com's rate-limit answer is unusable: {exc}") from exc
