"""Choosing grok.com's chat transport: the WebSocket gateway, REST, or WS with a REST fallback.

grok.com moved web chat to the WebSocket gateway in August 2026 (docs/grok-protocol.md §0, §5); REST
may stop working any day, and the gateway may be refused where REST still works. ``auto`` tries the
gateway and, when it fails before anything was answered for a reason that is not the account's (the
handshake refused or unreachable, a Cloudflare/anti-bot challenge), asks REST on the same account.
Each fallback is logged and counted (metric ``WebChatFallback``); the ``Served`` event says which
transport answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Protocol

from grokgate import metrics
from grokgate.errors import UpstreamError, UpstreamHandshakeError, Verdict
from grokgate.events import Event
from grokgate.logs import get_logger, redact
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment

log = get_logger("transport")

FALLBACK_METRIC = "WebChatFallback"
_NOT_THE_ACCOUNT = (Verdict.CHALLENGED, Verdict.UNAVAILABLE)


class WebChat(Protocol):
    transport: str

    def chat(
        self,
        account: Account,
        message: str,
        mode: str,
        *,
        show_reasoning: bool = True,
        attachments: Sequence[Attachment] = (),
    ) -> AsyncIterator[Event]: ...


class FallbackChat:
    """WS first; REST when the gateway fails before answering for a reason REST may not share."""

    transport = "auto"

    def __init__(self, primary: WebChat, fallback: WebChat) -> None:
        self.primary = primary
        self.fallback = fallback

    async def chat(
        self,
        account: Account,
        message: str,
        mode: str,
        *,
        show_reasoning: bool = True,
        attachments: Sequence[Attachment] = (),
    ) -> AsyncIterator[Event]:
        started = False
        try:
            first = self.primary.chat(
                account, message, mode, show_reasoning=show_reasoning, attachments=attachments
            )
            async with aclosing(first) as events:  # type: ignore[type-var]
                async for event in events:
                    started = True
                    yield event
            return
        except UpstreamError as exc:
            handshake = isinstance(exc, UpstreamHandshakeError)  # a refused gateway (404 too)
            if started or exc.verdict not in _NOT_THE_ACCOUNT or not (handshake or exc.retryable):
                raise
            stage = "handshake" if handshake else "session"
            log.warning(
                "account %s: %s chat failed at the %s (%s); falling back to %s",
                account.id,
                self.primary.transport,
                stage,
                redact(exc.message),
                self.fallback.transport,
            )
            metrics.count(
                FALLBACK_METRIC,
                source=self.primary.transport,
                target=self.fallback.transport,
                stage=stage,
            )
        second = self.fallback.chat(
            account, message, mode, show_reasoning=show_reasoning, attachments=attachments
        )
        async with aclosing(second) as events:  # type: ignore[type-var]
            async for event in events:
                yield event
