"""grok.com chat: the chat service over the pool and the chat transport, and the resolver of
the images and files clients send."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.runtime.cached import cached

if TYPE_CHECKING:
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.attachments import AttachmentResolver
    from grokgate.core.chat import ChatService, ChatUpstream
    from grokgate.upstream.fetch import SafeFetcher


class ChatParts:
    settings: Settings

    if TYPE_CHECKING:  # from the other parts of Runtime

        async def pool(self) -> AccountPool: ...
        def chat_upstream(self) -> ChatUpstream: ...

    @cached
    async def chat_service(self) -> ChatService:
        pool = await self.pool()
        from grokgate.core.chat import ChatService

        s = self.settings
        return ChatService(
            pool, self.chat_upstream(), max_retries=s.max_retries, files=self.attachments()
        )

    @cached
    def fetcher(self) -> SafeFetcher:
        """The SSRF-guarded fetcher of remote inputs (its HTTP client opens on the first
        fetch)."""
        from grokgate.upstream.fetch import SafeFetcher

        s = self.settings
        return SafeFetcher(
            max_bytes=s.max_attachment_bytes,
            timeout=s.fetch_timeout,
            allow_hosts=s.fetch_allow_hosts,
        )

    def attachments(self) -> AttachmentResolver:
        """Resolves image/file inputs; remote URLs go through :meth:`fetcher`."""
        from grokgate.core.attachments import AttachmentResolver

        s = self.settings
        return AttachmentResolver(
            self.fetcher(),
            max_bytes=s.max_attachment_bytes,
            max_total_bytes=s.max_request_attachment_bytes,
        )

    async def close_chat(self) -> None:
        fetcher: SafeFetcher | None = ChatParts.fetcher.forget(self)
        if fetcher is not None:
            await fetcher.aclose()
        ChatParts.chat_service.forget(self)
