"""The media half of the composition root: Imagine client, media and job stores, image and
video services, the video worker and its runner. Built lazily, like everything in
:class:`~grokgate.api.runtime.Runtime`, which mixes this in."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from grokgate.config import Settings

if TYPE_CHECKING:
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.media.images import ImageService
    from grokgate.core.media.runners import JobRunner
    from grokgate.core.media.video_worker import VideoWorker
    from grokgate.core.media.videos import VideoService
    from grokgate.stores.conversations import ConversationStore
    from grokgate.stores.jobs import JobStore
    from grokgate.stores.media import MediaStore
    from grokgate.upstream.grokweb.media_client import GrokMediaClient
    from grokgate.upstream.grokweb.statsig import Signer
    from grokgate.upstream.grokweb.web import GrokWeb


class MediaParts:
    settings: Settings
    _lock: asyncio.Lock
    _media_client: GrokMediaClient | None
    _media: MediaStore | None
    _jobs: JobStore | None
    _images: ImageService | None
    _videos: VideoService | None
    _worker: VideoWorker | None
    _runner: JobRunner | None

    async def pool(self) -> AccountPool:
        raise NotImplementedError

    def statsig_signer(self) -> Signer:
        raise NotImplementedError

    async def conversation_store(self) -> ConversationStore:
        raise NotImplementedError

    def grok_web(self) -> GrokWeb:
        raise NotImplementedError

    def media_client(self) -> GrokMediaClient:
        """grok.com's Imagine flows, asset downloads and Imagine quota reads."""
        if self._media_client is None:
            from grokgate.upstream.grokweb.media_client import GrokMediaClient

            s = self.settings
            self._media_client = GrokMediaClient(
                self.grok_web(),
                signer=self.statsig_signer(),
                assets_url=s.grok_assets_url,
                public_hosts=tuple(s.media_public_hosts),
                max_download_bytes=s.max_media_bytes,
            )
        return self._media_client

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

    async def sweep(self) -> int:
        """Delete expired local state: media files past their retention, expired jobs and
        stored conversations. The cloud backends expire by themselves (S3 lifecycle rules,
        DynamoDB TTL)."""
        s = self.settings
        removed = 0
        if s.media == "local":
            retention = {"videos": s.video_retention_seconds, "stored": s.responses_ttl_seconds}
            removed += await (await self.media_store()).sweep(retention, s.media_retention_seconds)
        if s.store == "sqlite":
            removed += await (await self.job_store()).sweep()
            removed += await (await self.conversation_store()).sweep()
        return removed

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
