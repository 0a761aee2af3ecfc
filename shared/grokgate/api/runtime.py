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
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.accounts.quota import QuotaSync
    from grokgate.core.attachments import AttachmentResolver
    from grokgate.core.media.images import ImageService
    from grokgate.core.media.runners import JobRunner
    from grokgate.core.media.video_worker import VideoWorker
    from grokgate.core.media.videos import VideoService
    from grokgate.stores.jobs import JobStore
    from grokgate.stores.media import MediaStore
    from grokgate.upstream.fetch import SafeFetcher
    from grokgate.upstream.grokweb.client import GrokWebClient
    from grokgate.upstream.grokweb.media_client import GrokMediaClient
    from grokgate.upstream.grokweb.statsig import Signer

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
        self._signer: Signer | None = None
        self._pool: AccountPool | None = None
        self._media_client: GrokMediaClient | None = None
        self._media: MediaStore | None = None
        self._jobs: JobStore | None = None
        self._images: ImageService | None = None
        self._videos: VideoService | None = None
        self._worker: VideoWorker | None = None
        self._runner: JobRunner | None = None
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
            pool = await self.pool()
            async with self._lock:
                if self._chat is None:
                    s = self.settings
                    self._chat = ChatService(
                        pool,
                        self._web_client(),
                        max_retries=s.max_retries,
                        files=self.attachments(),
                    )
        return self._chat

    async def pool(self) -> AccountPool:
        """The one account pool of this process, shared by chat and media."""
        if self._pool is None:
            store = await self.store()
            quota = await self.quota_sync()
            async with self._lock:
                if self._pool is None:
                    from grokgate.core.accounts.pool import AccountPool

                    s = self.settings
                    self._pool = AccountPool(
                        store,
                        quota=quota,
                        cooldown_seconds=s.cooldown_seconds,
                        snapshot_seconds=s.pool_snapshot_seconds,
                    )
        return self._pool

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
                        imagine=self.media_client(),
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
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        if self._store is not None:
            await self._store.close()
        for closable in (self._jobs, self._media):
            if closable is not None:
                await closable.close()
        self._chat = self._pool = None
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
        return store

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            from grokgate.upstream.http import new_http_client

            s = self.settings
            self._http = new_http_client(
                connect_timeout=s.connect_timeout, idle_timeout=s.idle_timeout
            )
        return self._http

    def _statsig(self) -> Signer:
        if self._signer is None:
            from grokgate.upstream.grokweb.statsig import build_signer

            s = self.settings
            self._signer = build_signer(
                header_hex=s.statsig_header_hex,
                suffix=s.statsig_suffix,
                trailer=s.statsig_trailer,
                provider_url=s.statsig_provider_url,
                http=self._http_client(),
            )
            log.info("x-statsig-id: %s", self._signer.kind)
        return self._signer

    def _web_client(self) -> GrokWebClient:
        if self._upstream is None:
            from grokgate.upstream.grokweb.client import GrokWebClient

            s = self.settings
            self._upstream = GrokWebClient(
                base_url=s.grok_base_url,
                http=self._http_client(),
                signer=self._statsig(),
                user_agent=s.user_agent,
                cf_cookies=s.cf_cookies.get_secret_value() if s.cf_cookies else None,
                deadline=s.request_deadline,
            )
        return self._upstream

    def media_client(self) -> GrokMediaClient:
        """grok.com's Imagine flows, asset downloads and Imagine quota reads."""
        if self._media_client is None:
            from grokgate.upstream.grokweb.media_client import GrokMediaClient

            s = self.settings
            self._media_client = GrokMediaClient(
                base_url=s.grok_base_url,
                http=self._http_client(),
                signer=self._statsig(),
                user_agent=s.user_agent,
                cf_cookies=s.cf_cookies.get_secret_value() if s.cf_cookies else None,
                assets_url=s.grok_assets_url,
                public_hosts=tuple(s.media_public_hosts),
                deadline=s.request_deadline,
                max_download_bytes=s.max_media_bytes,
            )
        return self._media_client

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

    # --- media --------------------------------------------------------------------------

    async def media_store(self) -> MediaStore:
        if self._media is None:
            async with self._lock:
                if self._media is None:
                    from grokgate.stores.open import open_media_store

                    self._media = open_media_store(self.settings)
        return self._media

    async def job_store(self) -> JobStore:
        if self._jobs is None:
            async with self._lock:
                if self._jobs is None:
                    from grokgate.stores.open import open_job_store

                    self._jobs = open_job_store(self.settings)
        return self._jobs

    async def image_service(self) -> ImageService:
        if self._images is None:
            pool = await self.pool()
            media = await self.media_store()
            async with self._lock:
                if self._images is None:
                    from grokgate.core.media.images import ImageService

                    s = self.settings
                    self._images = ImageService(
                        pool,
                        self.media_client(),
                        media,
                        max_retries=s.max_retries,
                        max_bytes=s.max_media_bytes,
                    )
        return self._images

    async def video_worker(self) -> VideoWorker:
        """Runs video jobs (in this process, or as the async invocation in the cloud)."""
        if self._worker is None:
            pool = await self.pool()
            media = await self.media_store()
            jobs = await self.job_store()
            async with self._lock:
                if self._worker is None:
                    from grokgate.core.media.video_worker import VideoWorker

                    s = self.settings
                    self._worker = VideoWorker(
                        jobs,
                        media,
                        pool,
                        self.media_client(),
                        max_retries=s.max_retries,
                        max_bytes=s.max_media_bytes,
                        heartbeat_seconds=s.video_heartbeat_seconds,
                    )
        return self._worker

    async def video_service(self) -> VideoService:
        if self._videos is None:
            media = await self.media_store()
            jobs = await self.job_store()
            runner = self._job_runner()
            async with self._lock:
                if self._videos is None:
                    from grokgate.core.media.videos import VideoService

                    s = self.settings
                    self._videos = VideoService(
                        jobs,
                        media,
                        runner,
                        stale_seconds=s.video_stale_seconds,
                        queue_seconds=s.video_queue_seconds,
                        retention_seconds=s.video_retention_seconds,
                    )
        return self._videos

    def _job_runner(self) -> JobRunner:
        """An async Lambda invocation per job when a worker function is configured, else a
        task of this process."""
        if self._runner is None:
            from grokgate.core.media.runners import LambdaRunner, LocalRunner, lambda_client

            s = self.settings
            if s.video_worker_function:
                self._runner = LambdaRunner(
                    s.video_worker_function,
                    client_factory=lambda: lambda_client(s.aws_region, s.lambda_endpoint_url),
                )
            else:

                async def work(job_id: str) -> None:
                    await (await self.video_worker()).run(job_id)

                self._runner = LocalRunner(work)
        return self._runner
