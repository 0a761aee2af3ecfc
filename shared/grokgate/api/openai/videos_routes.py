"""OpenAI Videos as async jobs: create (JSON or multipart), retrieve, list, delete, content."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from grokgate.api.deps import (
    owner_of,
    public_base_url,
    read_form,
    read_image,
    runtime_of,
)
from grokgate.api.openai.common_schemas import ErrorOut
from grokgate.api.openai.media_schemas import DEFAULT_VIDEO_MODEL, form_fields
from grokgate.api.openai.video_schemas import (
    ImageReference,
    VideoCreateRequest,
    VideoDeletedOut,
    VideoErrorOut,
    VideoListOut,
    VideoOut,
)
from grokgate.api.routing import v1_router
from grokgate.core.attachments import FileInput
from grokgate.core.media.videos import DEFAULT_SIZE, VideoRequest, parse_seconds
from grokgate.errors import InvalidRequestError
from grokgate.stores.jobs import Job, JobStatus
from grokgate.upstream.files import Attachment

_ERRORS = {s: {"model": ErrorOut} for s in (400, 401, 404, 409, 422, 429, 502, 503)}
MAX_IDEMPOTENCY_KEY = 255

router = v1_router()


def video_out(job: Job) -> VideoOut:
    error = None
    if job.status is JobStatus.FAILED:
        error = VideoErrorOut(
            code=job.error_code or "failed", message=job.error_message or "generation failed"
        )
    return VideoOut(
        id=job.id,
        created_at=int(job.created_at),
        completed_at=int(job.completed_at) if job.completed_at else None,
        expires_at=int(job.expires_at) if job.expires_at else None,
        error=error,
        model=job.model,
        progress=job.progress,
        prompt=job.prompt,
        seconds=str(job.params.get("seconds", "")),
        size=str(job.params.get("size", "")),
        status=job.status.value,
    )


def _json(out: Any, status: int = 200) -> Response:
    return Response(out.model_dump_json(), status_code=status, media_type="application/json")


async def _parse(request: Request) -> tuple[VideoCreateRequest, Attachment | None]:
    """The create request from JSON or multipart, with its reference image resolved."""
    runtime = runtime_of(request)
    resolver = runtime.attachments()
    ctype = request.headers.get("content-type", "").lower()
    upload: Attachment | None = None
    if ctype.startswith("multipart/form-data"):
        form = await read_form(request, max_files=1)
        try:
            part = form.get("input_reference")
            if isinstance(part, UploadFile):
                upload = await read_image(part, resolver, param="input_reference")
            raw: dict[str, Any] = form_fields(form)
        finally:
            await form.close()
    else:
        try:
            raw = await request.json()
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise InvalidRequestError(
                "We could not parse the JSON body of your request.", code="invalid_json"
            ) from exc
        if not isinstance(raw, dict):
            raise InvalidRequestError("The request body must be a JSON object.")
    try:
        body = VideoCreateRequest.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from exc
    if upload is None and body.input_reference is not None:
        ref = body.input_reference
        url = ref if isinstance(ref, str) else ref.image_url
        if isinstance(ref, ImageReference) and ref.file_id:
            raise InvalidRequestError(
                "input_reference.file_id is not supported; send image_url or upload the image",
                param="input_reference",
            )
        if not url:
            raise InvalidRequestError("input_reference needs an image_url", param="input_reference")
        item = FileInput(source=url, kind="image", param="input_reference")
        (upload,) = await resolver.resolve([item])
    return body, upload


@router.post("/videos", response_model=VideoOut, responses=_ERRORS)
async def create_video(request: Request) -> Response:
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidRequestError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            param="Idempotency-Key",
        )
    body, reference = await _parse(request)
    req = VideoRequest(
        spec=runtime_of(request).registry().resolve(body.model or DEFAULT_VIDEO_MODEL),
        prompt=body.prompt,
        seconds=parse_seconds(body.seconds if body.seconds is not None else 6),
        size=body.size or DEFAULT_SIZE,
        preset=body.preset or "custom",
        reference=reference,
    )
    service = await runtime_of(request).video_service()
    job = await service.create(req, owner=owner_of(request), idempotency_key=key)
    return _json(video_out(job))


@router.get("/videos", response_model=VideoListOut, responses=_ERRORS)
async def list_videos(
    request: Request,
    after: str | None = None,
    limit: int = Query(20),
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    service = await runtime_of(request).video_service()
    jobs, more = await service.list(owner=owner_of(request), after=after, limit=limit, order=order)
    data = [video_out(job) for job in jobs]
    out = VideoListOut(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=more,
    )
    return _json(out)


@router.get("/videos/{video_id}", response_model=VideoOut, responses=_ERRORS)
async def retrieve_video(video_id: str, request: Request) -> Response:
    service = await runtime_of(request).video_service()
    return _json(video_out(await service.get(video_id, owner=owner_of(request))))


@router.delete("/videos/{video_id}", response_model=VideoDeletedOut, responses=_ERRORS)
async def delete_video(video_id: str, request: Request) -> Response:
    service = await runtime_of(request).video_service()
    await service.delete(video_id, owner=owner_of(request))
    return _json(VideoDeletedOut(id=video_id))


@router.get("/videos/{video_id}/content", responses=_ERRORS)
async def video_content(video_id: str, request: Request, variant: str = "video") -> Response:
    service = await runtime_of(request).video_service()
    content = await service.content(
        video_id, owner=owner_of(request), variant=variant, base_url=public_base_url(request)
    )
    if content.url is not None:  # a fresh presigned URL on every call
        return RedirectResponse(content.url, status_code=302, headers={"Cache-Control": "no-store"})
    assert content.data is not None
    return Response(
        content.data,
        media_type=content.mime,
        headers={"Content-Disposition": f'inline; filename="{content.filename}"'},
    )
