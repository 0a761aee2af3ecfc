"""Video jobs (OpenAI's ``/v1/videos`` shape): create, read, list, delete, content.

Creating stores a queued job (and the reference image, since the worker may be another
process) and hands its id to the runner. Reads settle jobs whose worker died: a running job
whose heartbeat stopped, or a queued job nobody started, is marked failed with a reason, so no
job stays in progress forever. An ``Idempotency-Key`` returns the first job for the same key;
reusing a key for a different request is a 422.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from grokgate.core.attachments import sniff
from grokgate.core.media.runners import JobRunner
from grokgate.core.registry import Kind, ModelSpec
from grokgate.errors import ConflictError, GrokGateError, InvalidRequestError, NotFoundError
from grokgate.logs import get_logger
from grokgate.stores.jobs import Job, JobStatus, JobStore
from grokgate.stores.media import MediaStore
from grokgate.upstream.files import Attachment

log = get_logger("videos")

# OpenAI sizes → (aspect ratio, resolution) (docs/grok-protocol.md §7.1)
SIZES: dict[str, tuple[str, str]] = {
    "720x1280": ("9:16", "720p"),
    "1280x720": ("16:9", "720p"),
    "1024x1024": ("1:1", "720p"),
    "1024x1792": ("9:16", "720p"),
    "1792x1024": ("16:9", "720p"),
    "480x854": ("9:16", "480p"),
    "854x480": ("16:9", "480p"),
    "480x480": ("1:1", "480p"),
}
DEFAULT_SIZE = "720x1280"
PRESETS = ("custom", "normal", "fun", "spicy")
MAX_SECONDS = 15  # one segment (GO3)
MAX_REFERENCE_SECONDS = 10  # image to video: 6 or 10 s segments (PY2)


class IdempotencyMismatchError(ConflictError):
    status = 422
    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class VideoRequest:
    spec: ModelSpec
    prompt: str
    seconds: int = 6
    size: str = DEFAULT_SIZE
    preset: str = "custom"
    reference: Attachment | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """Where a job's file is: a URL to redirect to, or the bytes themselves."""

    url: str | None = None
    data: bytes | None = None
    mime: str = "video/mp4"
    filename: str = "video.mp4"


def parse_seconds(value: object) -> int:
    try:
        seconds = int(str(value).strip()) if not isinstance(value, bool) else -1
    except ValueError:
        seconds = -1
    if not 1 <= seconds <= MAX_SECONDS:
        raise InvalidRequestError(
            f"seconds must be a whole number from 1 to {MAX_SECONDS}", param="seconds"
        )
    return seconds


def check_request(req: VideoRequest) -> None:
    if req.spec.kind is not Kind.VIDEO:
        raise InvalidRequestError(
            f"The model {req.spec.id!r} does not make videos", param="model", code="invalid_model"
        )
    if not req.prompt.strip():
        raise InvalidRequestError("prompt must not be empty", param="prompt")
    if req.size not in SIZES:
        raise InvalidRequestError(
            f"Invalid size {req.size!r}: use one of {', '.join(SIZES)}", param="size"
        )
    if req.preset not in PRESETS:
        raise InvalidRequestError(
            f"Invalid preset {req.preset!r}: use one of {', '.join(PRESETS)}", param="preset"
        )
    if req.reference is not None and req.seconds > MAX_REFERENCE_SECONDS:
        raise InvalidRequestError(
            f"a video from an image lasts at most {MAX_REFERENCE_SECONDS} s", param="seconds"
        )


def _fingerprint(req: VideoRequest) -> str:
    ref = hashlib.sha256(req.reference.data).hexdigest() if req.reference else None
    doc = [req.spec.id, req.prompt, req.seconds, req.size, req.preset, ref]
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def idempotency_hash(owner: str, key: str) -> str:
    return hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest()


class VideoService:
    def __init__(
        self,
        jobs: JobStore,
        media: MediaStore,
        runner: JobRunner,
        *,
        stale_seconds: float = 120.0,
        queue_seconds: float = 300.0,
        retention_seconds: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.media = media
        self.runner = runner
        self.stale_seconds = stale_seconds
        self.queue_seconds = queue_seconds
        self.retention_seconds = retention_seconds
        self.clock = clock

    async def create(
        self, req: VideoRequest, *, owner: str, idempotency_key: str | None = None
    ) -> Job:
        check_request(req)
        now = self.clock()
        job_id = f"video_{uuid.uuid4().hex}"
        aspect, resolution = SIZES[req.size]
        params: dict[str, object] = {
            "seconds": req.seconds,
            "size": req.size,
            "aspect_ratio": aspect,
            "resolution": resolution,
            "preset": req.preset,
        }
        if req.reference is not None:
            ref = req.reference
            key = f"videos/{job_id}/reference{_suffix(ref.name)}"
            await self.media.put(key, ref.data, ref.mime)
            params.update(reference_key=key, reference_name=ref.name, reference_mime=ref.mime)
        job = Job(
            id=job_id,
            owner=owner,
            model=req.spec.id,
            prompt=req.prompt,
            params=params,
            created_at=now,
            updated_at=now,
            expires_at=now + self.retention_seconds,
            idempotency_key=idempotency_hash(owner, idempotency_key) if idempotency_key else None,
            fingerprint=_fingerprint(req),
        )
        stored, created = await self.jobs.create(job)
        if not created:
            if "reference_key" in params:
                await self.media.delete(str(params["reference_key"]))
            if stored.fingerprint != job.fingerprint:
                raise IdempotencyMismatchError(
                    "This Idempotency-Key was already used for a different request",
                    param="Idempotency-Key",
                )
            return await self.settle(stored)
        try:
            await self.runner.submit(job_id)
        except GrokGateError as exc:
            log.error("video job %s could not be started: %s", job_id, exc.message)
            failed = await self.fail(job_id, exc.code or "worker_unavailable", exc.message)
            return failed or stored
        return stored

    async def fail(self, job_id: str, code: str, message: str) -> Job | None:
        """Mark a job that has not finished as failed (None: it finished or is gone)."""
        return await self.jobs.update(
            job_id,
            {"status": JobStatus.FAILED, "error_code": code, "error_message": message},
            expect=(JobStatus.QUEUED, JobStatus.IN_PROGRESS),
        )

    async def settle(self, job: Job) -> Job:
        """The job, failed if its worker is evidently gone."""
        now = self.clock()
        if job.status is JobStatus.IN_PROGRESS:
            beat = job.heartbeat_at or job.started_at or job.created_at
            if now - beat > self.stale_seconds:
                return await self.fail(
                    job.id,
                    "worker_lost",
                    "The worker generating this video stopped (the server restarted or "
                    "crashed); create the video again",
                ) or await self._reload(job)
        elif job.status is JobStatus.QUEUED and now - job.created_at > self.queue_seconds:
            return await self.fail(
                job.id, "not_started", "No worker started this video in time; create it again"
            ) or await self._reload(job)
        return job

    async def _reload(self, job: Job) -> Job:
        return await self.jobs.get(job.id) or job

    async def get(self, job_id: str, *, owner: str) -> Job:
        job = await self.jobs.get(job_id)
        if job is None or job.owner != owner or job.kind != "video":
            raise NotFoundError(f"No video found with id {job_id!r}", param="video_id")
        return await self.settle(job)

    async def list(
        self,
        *,
        owner: str,
        after: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> tuple[list[Job], bool]:
        if not 1 <= limit <= 100:
            raise InvalidRequestError("limit must be between 1 and 100", param="limit")
        jobs, more = await self.jobs.list(owner, after=after, limit=limit, order=order)
        return [await self.settle(job) for job in jobs], more

    async def delete(self, job_id: str, *, owner: str) -> None:
        job = await self.get(job_id, owner=owner)
        await self.jobs.delete(job.id)  # a running worker finds it gone and stops
        for key in _media_keys(job):
            await self.media.delete(key)

    async def content(
        self,
        job_id: str,
        *,
        owner: str,
        variant: str = "video",
        base_url: str,
    ) -> Content:
        job = await self.get(job_id, owner=owner)
        if job.status is not JobStatus.COMPLETED:
            raise InvalidRequestError(
                f"Video {job_id} is not ready (status {job.status.value})",
                param="video_id",
                code="video_not_ready",
            )
        if job.expires_at is not None and job.expires_at <= self.clock():
            raise NotFoundError(f"The files of video {job_id} have expired", param="video_id")
        if variant not in ("video", "thumbnail", "spritesheet"):
            raise InvalidRequestError(
                "variant must be video, thumbnail or spritesheet", param="variant"
            )
        key = job.result.get(f"{variant}_key")
        if not key:
            raise NotFoundError(f"Video {job_id} has no {variant}", param="variant")
        mime = str(job.result.get(f"{variant}_mime") or "video/mp4")
        filename = f"{job_id}{'.mp4' if variant == 'video' else '.jpg'}"
        if self.media.redirects:
            url = await self.media.url(
                str(key), base_url=base_url, filename=filename, content_type=mime
            )
            return Content(url=url, mime=mime, filename=filename)
        found = await self.media.get(str(key))
        if found is None:
            raise NotFoundError(f"The {variant} of video {job_id} is gone", param="video_id")
        data, stored_mime = found
        return Content(data=data, mime=stored_mime or mime, filename=filename)


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    return ext if ext in (".png", ".jpg", ".jpeg", ".webp", ".gif") else ".img"


def _media_keys(job: Job) -> list[str]:
    keys = [job.params.get("reference_key")]
    keys += [job.result.get(f"{v}_key") for v in ("video", "thumbnail")]
    return [str(k) for k in keys if k]


def image_mime(data: bytes, fallback: str = "image/jpeg") -> str:
    found = sniff(data)
    return found if found and found.startswith("image/") else fallback
