"""The composition root: builds the store, pool, upstream client and services, lazily.

Nothing is built at import time or when the app object is created; the first request that needs
a piece builds it (once, under a lock) and later requests reuse it. This keeps cold starts small
and lets a Lambda function that never chats never open the store.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from grokgate.config import Settings
from grokgate.core.chat import ChatService
from grokgate.logs import get_logger, protect_third_party, register_secret
from grokgate.stores.base import AccountStore
from grokgate.stores.records import Tier

if TYPE_CHECKING:
    from grokgate.core.accounts.quota import QuotaSync
    from grokgate.core.attachments import AttachmentResolver
    from grokgate.upstream.fetch import SafeFetcher
    from grokgate.upstream.grokweb.client import GrokWebClient

log = get_logger("runtime")


def parse_token_spec(spec: str, default: Tier) -> tuple[Tier, str]:
    """``"super:eyJ..."`` → (super, token); a bare token gets ``default``."""
    head, sep, rest = spec.partition(":")
    if sep and head.lower() in {t.value for t in Tier}:
        return Tier(head.lower()), rest
    return default, spec


class Runtime:
    def __init__(self, settings: Settings, store: AccountStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._http: httpx.AsyncClient | None = None
        self._chat: ChatService | None = None
        self._upstream: GrokWebClient | None = None
        self._quota: QuotaSync | None = None
        self._fetcher: SafeFetcher | None = None
        self._lock = asyncio.Lock()
        protect_third_party()
        for key in settings.api_keys:
            register_secret(key.get_secret_value())
        for spec in settings.sso_tokens:
            register_secret(spec.get_secret_value())
            register_secret(parse_token_spec(spec.get_secret_value(), Tier.BASIC)[1])
        if settings.cf_cookies:
            register_secret(settings.cf_cookies.get_secret_value())

    async def store(self) -> AccountStore:
        if self._store is None:
            async with self._lock:
                if self._store is None:
                    self._store = await self._build_store()
        return self._store

    async def chat_service(self) -> ChatService:
        if self._chat is None:
            store = await self.store()
            quota = await self.quota_sync()
            async with self._lock:
                if self._chat is None:
                    self._chat = self._build_chat(store, quota)
        return self._chat

    async def quota_sync(self) -> QuotaSync:
        """Reads quotas from grok.com (``/rest/rate-limits``) into the store."""
        if self._quota is None:
            store = await self.store()
            async with self._lock:
                if self._quota is None:
                    from grokgate.core.accounts.quota import QuotaSync

                    s = self.settings
                    self._quota = QuotaSync(
                        store,
                        self._web_client(),
                        sync_seconds=s.quota_sync_seconds,
                        refresh_seconds=s.quota_refresh_seconds,
                    )
        return self._quota

    async def aclose(self) -> None:
        if self._chat is not None:
            await self._chat.pool.aclose()
        if self._quota is not None:
            await self._quota.aclose()
            self._quota = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        if self._store is not None:
            await self._store.close()
        self._chat = None

    # --- builders -------------------------------------------------------------------------

    async def _build_store(self) -> AccountStore:
        from grokgate.stores.open import open_store

        store = open_store(self.settings)
        default = Tier(self.settings.default_tier)
        for secret in self.settings.sso_tokens:
            tier, token = parse_token_spec(secret.get_secret_value(), default)
            register_secret(token)
            account, created = await store.add_account(
                token, tier, max_inflight=self.settings.max_inflight
            )
            if created:
                log.info("added account %s (%s) from GROKGATE_SSO_TOKENS", account.id, tier)
        return store

    def _web_client(self) -> GrokWebClient:
        if self._upstream is None:
            from grokgate.upstream.grokweb.client import GrokWebClient
            from grokgate.upstream.grokweb.statsig import build_signer
            from grokgate.upstream.http import new_http_client

            s = self.settings
            self._http = new_http_client(
                connect_timeout=s.connect_timeout, idle_timeout=s.idle_timeout
            )
            signer = build_signer(
                header_hex=s.statsig_header_hex,
                suffix=s.statsig_suffix,
                trailer=s.statsig_trailer,
                provider_url=s.statsig_provider_url,
                http=self._http,
            )
            log.info("x-statsig-id: %s", signer.kind)
            self._upstream = GrokWebClient(
                base_url=s.grok_base_url,
                http=self._http,
                signer=signer,
                user_agent=s.user_agent,
                cf_cookies=s.cf_cookies.get_secret_value() if s.cf_cookies else None,
                deadline=s.request_deadline,
            )
        return self._upstream

    def _build_chat(self, store: AccountStore, quota: QuotaSync) -> ChatService:
        from grokgate.core.accounts.pool import AccountPool

        s = self.settings
        pool = AccountPool(
            store,
            quota=quota,
            cooldown_seconds=s.cooldown_seconds,
            snapshot_seconds=s.pool_snapshot_seconds,
        )
        return ChatService(
            pool, self._web_client(), max_retries=s.max_retries, files=self._attachments()
        )

    def _attachments(self) -> AttachmentResolver:
        """Resolves image/file inputs; remote URLs go through the SSRF-guarded fetcher (its
        HTTP client is only opened by the first fetch)."""
        from grokgate.core.attachments import AttachmentResolver
        from grokgate.upstream.fetch import SafeFetcher

        s = self.settings
        if self._fetcher is None:
            self._fetcher = SafeFetcher(
                max_bytes=s.max_attachment_bytes,
                timeout=s.fetch_timeout,
                allow_hosts=s.fetch_allow_hosts,
            )
        return AttachmentResolver(
            self._fetcher,
            max_bytes=s.max_attachment_bytes,
            max_total_bytes=s.max_request_attachment_bytes,
        )
