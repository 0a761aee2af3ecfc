"""grok.com web chat over REST: ``POST /rest/app-chat/conversations/new`` → NDJSON stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

import httpx

from grokgate.errors import UpstreamError, UpstreamStreamError, UpstreamTimeoutError
from grokgate.events import Event, Served, TextDelta
from grokgate.logs import get_logger, register_secret
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.adapter import FrameAdapter
from grokgate.upstream.grokweb.base import GrokWebBase
from grokgate.upstream.grokweb.classify import error_of
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
    cookie_header,
)
from grokgate.upstream.grokweb.statsig import Signer
from grokgate.upstream.http import read_body, until

log = get_logger("grokweb")


class GrokWebClient(GrokWebBase):
    """Streams one answer per call; holds only process-wide, read-only state."""

    transport = "rest"

    def __init__(
        self,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        signer: Signer,
        user_agent: str,
        cf_cookies: str | None = None,
        deadline: float = 300.0,
    ) -> None:
        super().__init__(
            base_url=base_url,
            http=http,
            user_agent=user_agent,
            cf_cookies=cf_cookies,
            deadline=deadline,
        )
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
        cookie, file_ids = await self._prepare(account, attachments)
        statsig = await self.signer.sign("POST", CHAT_PATH)
        request = self.http.build_request(
            "POST",
            self.base_url + CHAT_PATH,
            json=chat_body(message, mode, file_ids),
            headers=api_headers(
                cookie=cookie,
                statsig=statsig,
                user_agent=self.user_agent,
            ),
        )
        deadline_at = asyncio.get_running_loop().time() + self.deadline
        try:
            async with asyncio.timeout_at(deadline_at):  # the answer's first byte included
                response = await self.http.send(request, stream=True)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeoutError("grok.com did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"could not reach grok.com ({type(exc).__name__})") from exc
        try:
            if response.status_code != 200:
                raise await error_of(response, self.signer)
            yield Served(account=account.id, transport=self.transport)
            adapter = FrameAdapter(show_reasoning=show_reasoning)
            text_seen = False
            frames = until(deadline_at, aiter_frames(response.aiter_bytes()))
            async with aclosing(frames):  # type: ignore[type-var]
                async for frame in frames:
                    for event in adapter.feed(frame):
                        text_seen = text_seen or isinstance(event, TextDelta)
                        yield event
                    if adapter.finished:
                        break
            if not adapter.finished:
                raise UpstreamStreamError("grok.com's stream ended before the answer was complete")
            if not text_seen:
                raise UpstreamStreamError("grok.com finished without any answer text")
        except TimeoutError as exc:
            raise UpstreamTimeoutError(
                f"grok.com's answer took longer than {self.deadline:g} s"
            ) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError("grok.com went silent in the middle of the answer") from exc
        except httpx.HTTPError as exc:
            raise UpstreamStreamError(f"grok.com's stream broke ({type(exc).__name__})") from exc
        finally:
            await response.aclose()

    async def rate_limits(self, account: Account, mode: str) -> RateLimits:
        """``POST /rest/rate-limits`` for one mode of ``account`` (research note §8.1).

        Raises :class:`UpstreamError` with a verdict on the account for a non-200 answer (401 →
        EXPIRED, ...), and with verdict UNAVAILABLE for an answer that is not the expected JSON.
        The whole call is bounded by ``RATE_LIMITS_TIMEOUT`` seconds.
        """
        token = account.token.get_secret_value()
        register_secret(token)
        try:
            async with asyncio.timeout(RATE_LIMITS_TIMEOUT):
                statsig = await self.signer.sign("POST", RATE_LIMITS_PATH)
                request = self.http.build_request(
                    "POST",
                    self.base_url + RATE_LIMITS_PATH,
                    json=rate_limits_body(mode),
                    headers=api_headers(
                        cookie=cookie_header(token, self.cf_cookies),
                        statsig=statsig,
                        user_agent=self.user_agent,
                    ),
                    timeout=RATE_LIMITS_TIMEOUT,
                )
                response = await self.http.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        raise await error_of(response, self.signer)
                    raw = await read_body(
                        response,
                        RATE_LIMITS_BODY_LIMIT,
                        too_large="grok.com's rate-limit answer is too large",
                    )
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeoutError(
                "grok.com did not answer the rate-limit query in time"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"could not reach grok.com ({type(exc).__name__})") from exc
        try:
            return parse_rate_limits(raw)
        except ValueError as exc:
            raise UpstreamError(f"grok.com's rate-limit answer is unusable: {exc}") from exc
