"""The composition root: one :class:`Runtime` per process (or per app), made of one small part
per concern, each building its pieces lazily with :class:`~grokgate.runtime.cached.cached`.

Nothing is built at import time or when the runtime is created; the first request that needs
a piece builds it (once) and later requests reuse it, so a function that never chats never
opens the account store. ``stores`` names the stores this process may open (a function's
manifest); opening another one is a configuration error, not a silent extra dependency.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.errors import GrokGateError
from grokgate.logs import protect_third_party, register_cookies, register_secret
from grokgate.runtime.accounts import AccountParts, parse_token_spec
from grokgate.runtime.cached import cached
from grokgate.runtime.chat import ChatParts
from grokgate.runtime.conversations import ConversationParts
from grokgate.runtime.grok import GrokParts
from grokgate.runtime.jobs import JobParts
from grokgate.runtime.media import MediaParts
from grokgate.runtime.xai import XaiParts
from grokgate.stores.records import Tier

if TYPE_CHECKING:
    from grokgate.core.registry import Registry
    from grokgate.stores.base import AccountStore

STORES = frozenset({"pool", "media", "jobs", "conversations"})  # what ``stores`` may name


class UndeclaredStoreError(GrokGateError):
    """A function opened a store its manifest does not name (its IAM policy and environment
    would not have it either)."""

    status = 500
    openai_type = "server_error"
    code = "store_not_declared"


class Runtime(
    AccountParts, GrokParts, XaiParts, ChatParts, MediaParts, JobParts, ConversationParts
):
    def __init__(
        self,
        settings: Settings,
        store: AccountStore | None = None,
        *,
        stores: Iterable[str] | None = None,
    ) -> None:
        self.settings = settings
        self.stores = None if stores is None else frozenset(stores)
        if self.stores is not None and not self.stores <= STORES:
            raise ValueError(f"unknown store(s): {sorted(self.stores - STORES)}")
        if store is not None:
            AccountParts.store.put(self, store)
        protect_third_party()
        for key in settings.api_keys:
            register_secret(key.get_secret_value())
        for spec in settings.sso_tokens:
            register_secret(spec.get_secret_value())
            register_secret(parse_token_spec(spec.get_secret_value(), Tier.BASIC)[1])
        if settings.cf_cookies:
            register_cookies(settings.cf_cookies.get_secret_value())
        if settings.clearances:
            register_secret(settings.clearances.get_secret_value())
        for proxy in settings.proxies:
            register_secret(proxy.get_secret_value())
        for key in settings.xai_api_keys:
            register_secret(key.get_secret_value())
        if settings.admin_key:
            register_secret(settings.admin_key.get_secret_value())

    def may_open(self, what: str) -> bool:
        return self.stores is None or what in self.stores

    def needs(self, what: str) -> None:
        """Called by each store's factory before it opens ``what``."""
        if not self.may_open(what):
            raise UndeclaredStoreError(
                f"this function opens the {what} store, which its manifest does not name "
                f"(it names: {', '.join(sorted(self.stores)) or 'none'})"
            )

    @cached
    def registry(self) -> Registry:
        """The one model registry of this configuration (grok.com models + xAI models)."""
        from grokgate.core.registry import Registry

        s = self.settings
        return Registry(s.xai_models, s.xai_image_models)

    async def sweep(self) -> int:
        """Delete expired local state: media files past their retention, expired jobs and
        stored conversations, of the stores this runtime may open. The cloud backends expire
        by themselves (S3 lifecycle rules, DynamoDB TTL)."""
        s = self.settings
        removed = 0
        if s.media == "local" and self.may_open("media"):
            retention = {"videos": s.video_retention_seconds, "stored": s.responses_ttl_seconds}
            removed += await (await self.media_store()).sweep(retention, s.media_retention_seconds)
        if s.store == "sqlite":
            if self.may_open("jobs"):
                removed += await (await self.job_store()).sweep()
            if self.may_open("conversations"):
                removed += await (await self.conversation_store()).sweep()
        return removed

    async def aclose(self) -> None:
        """Close what was built, users before what they use: running jobs first (they record
        that they were interrupted), the account store last but one."""
        await self.close_runner()
        await self.close_accounts()
        await self.close_xai()
        await self.close_grok()
        await self.close_chat()
        await self.close_store()
        await self.close_jobs()
        await self.close_media()
        await self.close_conversations()
