"""The composition root: builds the store, pool, upstream client and services, lazily.

Nothing is built at import time or when the app object is created; the first request that needs
a piece builds it (once, under a lock) and later requests reuse it. This keeps cold starts small
and lets a Lambda function that never chats never open the store.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from grokgate.api.runtime_grok import GrokParts, QuotaReads
from grokgate.api.runtime_media import MediaParts
from grokgate.api.runtime_state import StateParts
from grokgate.config import Settings
from grokgate.core.chat import ChatService, ChatUpstream
from grokgate.logs import get_logger, protect_third_party, register_cookies, register_secret
from grokgate.stores.base import AccountStore
from grokgate.stores.records import Account, AccountKind, Tier

if TYPE_CHECKING:
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.accounts.quota import QuotaSync
    from grokgate.core.attachments import AttachmentResolver
    from grokgate.core.media.images import ImageService
    from grokgate.core.media.runners import JobRunner
    from grokgate.core.media.video_worker import VideoWorker
    from grokgate.core.media.videos import VideoService
    from grokgate.core.registry import Registry
    from grokgate.core.relay import RelayService
    from grokgate.stores.conversations import ConversationStore
    from grokgate.stores.jobs import JobStore
    from grokgate.stores.media import MediaStore
    from grokgate.upstream.browser.api import Browser
    from grokgate.upstream.egress import EgressPool
    from grokgate.upstream.fetch import SafeFetcher
    from grokgate.upstream.grokweb.client import GrokWebClient
    from grokgate.upstream.grokweb.media_client import GrokMediaClient
    from grokgate.upstream.grokweb.statsig import Signer
    from grokgate.upstream.grokweb.web import GrokWeb
    from grokgate.upstream.xai.client import XaiClient

log = get_logger("runtime")


def parse_token_spec(spec: str, default: Tier) -> tuple[Tier, str]:
    """``"super:eyJ..."`` → (super, token); a bare token gets ``default``."""
    head, sep, rest = spec.partition(":")
    if sep and head.lower() in {t.value for t in Tier}:
        return Tier(head.lower()), rest
    return default, spec


class Runtime(GrokParts, StateParts, MediaParts):
    def __init__(self, settings: Settings, store: AccountStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._http: httpx.AsyncClient | None = None
        self._browser: Browser | None = None
        self._egresses: EgressPool | None = None
        self._web: GrokWeb | None = None
        self._chat: ChatService | None = None
        self._rest: GrokWebClient | None = None
        self._web_chat: ChatUpstream | None = None
        self._registry: Registry | None = None
        self._xai: XaiClient | None = None
        self._xai_http: httpx.AsyncClient | None = None
        self._relay: RelayService | None = None
        self._quota: QuotaSync | None = None
        self._fetcher: SafeFetcher | None = None
        self._signer: Signer | None = None
        self._pool: AccountPool | None = None
        self._media_client: GrokMediaClient | None = None
        self._media: MediaStore | None = None
        self._jobs: JobStore | None = None
        self._images: ImageService | None = None
        self._videos: VideoService | None = None
        self._worker: VideoWorker | None = None
        self._runner: JobRunner | None = None
        self._conversations: ConversationStore | None = None
        self._lock = asyncio.Lock()
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

    def registry(self) -> Registry:
        """The one model registry of this configuration (grok.com models + xAI models)."""
        if self._registry is None:
            from grokgate.core.registry import Registry

            s = self.settings
            self._registry = Registry(s.xai_models, s.xai_image_models)
        return self._registry

    async def store(self) -> AccountStore:
        if self._store is None:
            async with self._lock:
                if self._store is None:
                    self._store = await self._build_store()
        return self._store

    async def chat_service(self) -> ChatService:
        if self._chat is None:
            pool = await self.pool()
            async with self._lock:
                if self._chat is None:
                    s = self.settings
                    self._chat = ChatService(
                        pool,
                        self._chat_upstream(),
                        max_retries=s.max_retries,
                        files=self.attachments(),
                    )
        return self._chat

    async def relay_service(self) -> RelayService:
        """Forwards requests for xAI models to the xAI API with the pool's xAI keys."""
        if self._relay is None:
            pool = await self.pool()
            async with self._lock:
                if self._relay is None:
                    from grokgate.core.relay import RelayService

                    self._relay = RelayService(
                        pool, self.xai_client(), max_retries=self.settings.max_retries
                    )
        return self._relay

    async def pool(self) -> AccountPool:
        """The one account pool of this process, shared by chat and media."""
        if self._pool is None:
            store = await self.store()
            quota = await self.quota_sync()
            async with self._lock:
                if self._pool is None:
                    from grokgate.core.accounts.pool import AccountPool

                    await self._reclaim_dead_leases(store)
                    s = self.settings
                    self._pool = AccountPool(
                        store,
                        quota=quota,
                        cooldown_seconds=s.cooldown_seconds,
                        snapshot_seconds=s.pool_snapshot_seconds,
                        demote=self.egress_pool().resting if s.proxies else None,
                    )
        return self._pool

    @staticmethod
    async def _reclaim_dead_leases(store: AccountStore) -> None:
        """Before this process leases anything from a local store, give back the slots of
        processes on this machine that died holding them (``kill -9``, a crash): they would
        block their accounts until the leases expire. A shared store (DynamoDB: instances on
        other machines) relies on short leases that live holders extend instead."""
        if not store.single_host:
            return
        from grokgate.errors import GrokGateError

        try:
            reclaimed = await store.reclaim_dead()
        except GrokGateError as exc:  # they expire on their own
            log.warning("could not reclaim the leases of dead processes: %s", exc.message)
            return
        if reclaimed:
            log.info("reclaimed %d lease(s) of processes that died holding them", reclaimed)

    async def quota_sync(self) -> QuotaSync:
        """Reads quotas from grok.com (``/rest/rate-limits``) into the store."""
        if self._quota is None:
            store = await self.store()
            async with self._lock:
                if self._quota is None:
                    from grokgate.core.accounts.quota import QuotaSync

                    s = self.settings
                    reads = QuotaReads(self.web_client, self.media_client)
                    self._quota = QuotaSync(
                        store,
                        reads,
                        sync_seconds=s.quota_sync_seconds,
                        refresh_seconds=s.quota_refresh_seconds,
                        imagine=reads,
                    )
        return self._quota

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.aclose()  # running jobs record that they were interrupted
            self._runner = None
        if self._pool is not None:
            await self._pool.aclose()
        if self._quota is not None:
            await self._quota.aclose()
            self._quota = None
        for client in (self._http, self._xai_http):
            if client is not None:
                await client.aclose()
        self._http = self._xai_http = None
        if self._browser is not None:
            await self._browser.aclose()
            self._browser = None
        self._web = self._egresses = None
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        if self._store is not None:
            await self._store.close()
        for closable in (self._jobs, self._media):
            if closable is not None:
                await closable.close()
        await self.close_state()
        self._chat = self._pool = self._relay = None
        self._jobs = self._media = None
        self._images = self._videos = self._worker = None

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
        for secret in self.settings.xai_api_keys:
            account, created = await store.add_account(
                secret.get_secret_value(),
                max_inflight=self.settings.xai_max_inflight,
                kind=AccountKind.XAI_API_KEY,
            )
            if created:
                log.info("added xAI API key %s from GROKGATE_XAI_API_KEYS", account.id)
        return store

    def _http_client(self) -> httpx.AsyncClient:
        """httpx for what is not grok.com (an x-statsig-id token provider)."""
        if self._http is None:
            from grokgate.upstream.http import new_http_client

            s = self.settings
            self._http = new_http_client(
                connect_timeout=s.connect_timeout, idle_timeout=s.idle_timeout
            )
        return self._http

    def statsig_signer(self) -> Signer:
        """The x-statsig-id signer: an external provider if configured, else the live pair
        (the store's, seeded by the settings; synthetic ``x1:`` while there is none)."""
        if self._signer is None:
            from grokgate.upstream.grokweb.statsig import ProviderSigner
            from grokgate.upstream.grokweb.statsig_live import LiveSigner, StatsigPair

            s = self.settings
            seed = None
            if s.statsig_header_hex and s.statsig_suffix is not None:
                seed = StatsigPair(s.statsig_header_hex, s.statsig_suffix, s.statsig_trailer)
            if s.statsig_provider_url:
                self._signer = ProviderSigner(
                    s.statsig_provider_url, self._http_client(), seed=seed.seed if seed else None
                )
                log.info("x-statsig-id: from the token provider")
            else:
                assert self._store is not None, "the store is built before any grok.com client"
                self._signer = LiveSigner(self._store, seed)
                if seed is None:
                    log.warning(
                        "x-statsig-id: no pair configured; the synthetic x1: value is used until "
                        "one is set (grokgate statsig set), and grok.com may reject it"
                    )
                else:
                    log.info("x-statsig-id: signed in-process (the shared pair, else the env's)")
        return self._signer

    def web_client(self) -> GrokWebClient:
        """grok.com's REST client (the store is built first: ``await store()``)."""
        if self._rest is None:
            from grokgate.upstream.grokweb.client import GrokWebClient

            self._rest = GrokWebClient(self.grok_web(), signer=self.statsig_signer())
        return self._rest

    def _chat_upstream(self) -> ChatUpstream:
        """grok.com chat over the transport the settings name (``auto``: WS, REST fallback)."""
        if self._web_chat is None:
            choice = self.settings.web_chat_transport
            if choice == "rest":
                self._web_chat = self.web_client()
            elif choice == "ws":
                self._web_chat = self._gateway_client()
            else:
                from grokgate.upstream.grokweb.transports import FallbackChat

                self._web_chat = FallbackChat(self._gateway_client(), self.web_client())
        return self._web_chat

    def _gateway_client(self) -> ChatUpstream:
        from grokgate.core.accounts.user_ids import StoredUserIds
        from grokgate.upstream.grokweb.gateway import GrokGatewayClient
        from grokgate.upstream.grokweb.session import fetch_user_id

        web = self.grok_web()
        assert self._store is not None, "the store is built before the chat service"

        async def lookup(account: Account) -> str:
            return await fetch_user_id(web, account)

        return GrokGatewayClient(
            web,
            user_ids=StoredUserIds(self._store, lookup),
            heartbeat_seconds=self.settings.ws_heartbeat_seconds,
        )

    def xai_client(self) -> XaiClient:
        if self._xai is None:
            from grokgate.upstream.http import new_http_client
            from grokgate.upstream.xai.client import XaiClient

            s = self.settings
            self._xai_http = new_http_client(
                connect_timeout=s.connect_timeout,
                idle_timeout=s.idle_timeout,
                verify=s.xai_ca_file or True,
            )
            self._xai = XaiClient(
                base_url=s.xai_base_url, http=self._xai_http, deadline=s.request_deadline
            )
        return self._xai

    def attachments(self) -> AttachmentResolver:
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
