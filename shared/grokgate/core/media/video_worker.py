"""Runs one video job: claim it, generate on a leased account, store the file, finish the job.

Claiming is a conditional write (queued → in progress), so a job runs once even if its
invocation is delivered twice. While it runs, a heartbeat keeps the job visibly alive; a job
that is deleted (or failed by a reader that found it stale) stops the generation. Every ending
is written: completed with the stored files, or failed with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from grokgate.core.accounts.attempts import with_account
from grokgate.core.accounts.pool import AccountPool
from grokgate.core.media.videos import image_mime
from grokgate.core.registry import resolve
from grokgate.errors import GrokGateError, UpstreamError
from grokgate.logs import get_logger, redact
from grokgate.stores.jobs import Job, JobStatus, JobStore
from grokgate.stores.media import MediaStore
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.media_types import (
    Downloaded,
    GeneratedVideo,
    VideoParams,
    VideoProgress,
)

log = get_logger("video-worker")
_RUNNING = (JobStatus.IN_PROGRESS,)


class VideoUpstream(Protocol):
    def video(
        self, account: Account, params: VideoParams, reference: Attachment | None = None
    ) -> AsyncIterator[VideoProgress | GeneratedVideo]: ...

    async def download(
        self, account: Account, url: str, *, kind: str, max_bytes: int | None = None
    ) -> Downloaded: ...


class JobGone(Exception):
    """The job was deleted or settled by someone else while it ran."""


class VideoWorker:
    def __init__(
        self,
        jobs: JobStore,
        media: MediaStore,
        pool: AccountPool,
        upstream: VideoUpstream,
        *,
        max_retries: int = 1,
        max_bytes: int = 64 * 1024 * 1024,
        heartbeat_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.media = media
        self.pool = pool
        self.upstream = upstream
        self.max_retries = max_retries
        self.max_bytes = max_bytes
        self.heartbeat_seconds = heartbeat_seconds
        self.clock = clock

    async def run(self, job_id: str) -> None:
        job = await self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.QUEUED:
            return  # done, running elsewhere, or gone: a repeated delivery does nothing
        now = self.clock()
        claimed = await self.jobs.update(
            job_id,
            {
                "status": JobStatus.IN_PROGRESS,
                "started_at": now,
                "heartbeat_at": now,
                "attempts": job.attempts + 1,
            },
            expect=(JobStatus.QUEUED,),
        )
        if claimed is None:
            return
        try:
            await self._guarded(claimed)
        except asyncio.CancelledError:
            await self._fail(job_id, "interrupted", "The server stopped while the video was made")
            raise

    async def _guarded(self, job: Job) -> None:
        work = asyncio.ensure_future(self._generate(job))
        beat = asyncio.ensure_future(self._heartbeat(job.id, work))
        try:
            await work
        except JobGone:
            log.info("video job %s went away while running", job.id)
        except GrokGateError as exc:
            await self._fail(job.id, exc.code or "upstream_error", exc.message)
        except asyncio.CancelledError:
            if beat.done() and not beat.cancelled() and beat.result():
                log.info("video job %s went away while running", job.id)
                return
            raise
        except Exception as exc:
            log.exception("video job %s crashed", job.id)
            await self._fail(job.id, "internal_error", f"internal error ({type(exc).__name__})")
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat(self, job_id: str, work: asyncio.Future[None]) -> bool:
        """Every ``heartbeat_seconds``: say the job is alive; True (and the work cancelled) once
        the job is no longer ours to run."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            alive = await self.jobs.update(job_id, {"heartbeat_at": self.clock()}, expect=_RUNNING)
            if alive is None:
                work.cancel()
                return True

    async def _generate(self, job: Job) -> None:
        spec = resolve(job.model)
        p = job.params
        params = VideoParams(
            prompt=job.prompt,
            seconds=int(p.get("seconds", 6)),
            aspect_ratio=str(p.get("aspect_ratio", "9:16")),
            resolution=str(p.get("resolution", "720p")),
            preset=str(p.get("preset", "custom")),
        )
        reference = await self._reference(job)

        async def work(account: Account) -> dict[str, object]:
            return await self._one_account(job, account, params, reference)

        result = await with_account(self.pool, spec, work, max_retries=self.max_retries)
        done = await self.jobs.update(
            job.id,
            {
                "status": JobStatus.COMPLETED,
                "progress": 100,
                "completed_at": self.clock(),
                "result": result,
            },
            expect=_RUNNING,
        )
        if done is None:  # deleted meanwhile: its files must not linger
            for key in ("video_key", "thumbnail_key"):
                if result.get(key):
                    await self.media.delete(str(result[key]))

    async def _reference(self, job: Job) -> Attachment | None:
        key = job.params.get("reference_key")
        if not key:
            return None
        found = await self.media.get(str(key))
        if found is None:
            raise GrokGateError("the reference image of this job is gone")
        data, mime = found
        name = str(job.params.get("reference_name") or "reference.png")
        return Attachment(name=name, mime=mime, data=data)

    async def _one_account(
        self, job: Job, account: Account, params: VideoParams, reference: Attachment | None
    ) -> dict[str, object]:
        await self._update(job.id, {"account_id": account.id, "progress": 0})
        final: GeneratedVideo | None = None
        shown, shown_at = 0, self.clock()
        async for item in self.upstream.video(account, params, reference):
            if isinstance(item, GeneratedVideo):
                final = item
                continue
            percent = max(0, min(99, item.percent))
            now = self.clock()
            if percent > shown and (percent - shown >= 5 or now - shown_at >= 2.0):
                await self._update(job.id, {"progress": percent, "heartbeat_at": now})
                shown, shown_at = percent, now
        if final is None:
            raise UpstreamError("grok.com ended the video stream without a video")
        video = await self.upstream.download(
            account, final.url, kind="video", max_bytes=self.max_bytes
        )
        video_key = f"videos/{job.id}/video.mp4"
        await self.media.put(video_key, video.data, "video/mp4")
        result: dict[str, object] = {
            "video_key": video_key,
            "video_mime": "video/mp4",
            "upstream_video_id": final.video_id,
            "bytes": len(video.data),
        }
        if final.thumbnail_url:
            try:
                thumb = await self.upstream.download(
                    account, final.thumbnail_url, kind="image", max_bytes=self.max_bytes
                )
            except UpstreamError as exc:  # the video is what was asked for
                log.warning("no thumbnail for %s: %s", job.id, redact(exc.message))
            else:
                mime = image_mime(thumb.data)
                thumb_key = f"videos/{job.id}/thumbnail.jpg"
                await self.media.put(thumb_key, thumb.data, mime)
                result.update(thumbnail_key=thumb_key, thumbnail_mime=mime)
        return result

    async def _update(self, job_id: str, changes: dict[str, object]) -> None:
        if await self.jobs.update(job_id, changes, expect=_RUNNING) is None:
            raise JobGone(job_id)

    async def _fail(self, job_id: str, code: str, message: str) -> None:
        try:
            await self.jobs.update(
                job_id,
                {"status": JobStatus.FAILED, "error_code": code, "error_message": message},
                expect=(JobStatus.QUEUED, JobStatus.IN_PROGRESS),
            )
        except GrokGateError as exc:
            log.error("could not record the failure of %s: %s", job_id, exc.message)
