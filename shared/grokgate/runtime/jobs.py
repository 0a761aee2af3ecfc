"""Video jobs: the job store, the video service, the worker that runs a job and the runner
that starts it (an async Lambda invocation in the cloud, a task of this process locally)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.runtime.cached import cached

if TYPE_CHECKING:
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.media.runners import JobRunner
    from grokgate.core.media.video_worker import VideoWorker
    from grokgate.core.media.videos import VideoService
    from grokgate.stores.jobs import JobStore
    from grokgate.stores.media import MediaStore
    from grokgate.upstream.grokweb.media_client import GrokMediaClient


class JobParts:
    settings: Settings

    if TYPE_CHECKING:  # from the other parts of Runtime

        def needs(self, what: str) -> None: ...
        async def pool(self) -> AccountPool: ...
        async def media_store(self) -> MediaStore: ...
        def media_client(self) -> GrokMediaClient: ...

    @cached
    async def job_store(self) -> JobStore:
        self.needs("jobs")
        from grokgate.stores.open import open_job_store

        return open_job_store(self.settings)

    @cached
    async def video_worker(self) -> VideoWorker:
        """Runs video jobs (in this process, or as the async invocation in the cloud)."""
        pool = await self.pool()
        media = await self.media_store()
        jobs = await self.job_store()
        from grokgate.core.media.video_worker import VideoWorker

        s = self.settings
        return VideoWorker(
            jobs,
            media,
            pool,
            self.media_client(),
            max_retries=s.max_retries,
            max_bytes=s.max_media_bytes,
            heartbeat_seconds=s.video_heartbeat_seconds,
        )

    @cached
    async def video_service(self) -> VideoService:
        media = await self.media_store()
        jobs = await self.job_store()
        runner = self.job_runner()
        from grokgate.core.media.videos import VideoService

        s = self.settings
        return VideoService(
            jobs,
            media,
            runner,
            stale_seconds=s.video_stale_seconds,
            queue_seconds=s.video_queue_seconds,
            retention_seconds=s.video_retention_seconds,
        )

    @cached
    def job_runner(self) -> JobRunner:
        """An async Lambda invocation per job when a worker function is configured, else a
        task of this process."""
        from grokgate.core.media.runners import LambdaRunner, LocalRunner

        s = self.settings
        if s.video_worker_function:
            return LambdaRunner(
                s.video_worker_function, region=s.aws_region, endpoint_url=s.lambda_endpoint_url
            )

        async def work(job_id: str) -> None:
            await (await self.video_worker()).run(job_id)

        return LocalRunner(work)

    async def close_runner(self) -> None:
        """Running jobs record that they were interrupted."""
        runner: JobRunner | None = JobParts.job_runner.forget(self)
        if runner is not None:
            await runner.aclose()

    async def close_jobs(self) -> None:
        jobs: JobStore | None = JobParts.job_store.forget(self)
        if jobs is not None:
            await jobs.close()
        JobParts.video_service.forget(self)
        JobParts.video_worker.forget(self)
