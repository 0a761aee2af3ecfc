"""OpenAI Images: ``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits``
(multipart, ``image`` or ``image[]``)."""

from __future__ import annotations

import base64
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from grokgate.api.deps import (
    public_base_url,
    read_form,
    read_image,
    runtime_of,
)
from grokgate.api.limits import response_limit
from grokgate.api.openai.common_schemas import ErrorOut
from grokgate.api.openai.image_schemas import ImageGenerationRequest, ImageOut, ImagesResponseOut
from grokgate.api.openai.media_schemas import DEFAULT_EDIT_MODEL, DEFAULT_IMAGE_MODEL, form_fields
from grokgate.api.routing import v1_router
from grokgate.core.media.images import ImageAnswer, ImageRequest, ImageService
from grokgate.core.registry import Kind, ModelSpec, Registry
from grokgate.errors import InvalidRequestError

MAX_EDIT_IMAGES = 8  # grok.com's edit takes 1–8 pictures (docs/grok-protocol.md §6.3)
_ERRORS = {s: {"model": ErrorOut} for s in (400, 401, 404, 429, 502, 503)}

router = v1_router()


def render(answer: ImageAnswer) -> Response:
    out = ImagesResponseOut(
        created=answer.created,
        data=[ImageOut(url=i.url, b64_json=i.b64_json) for i in answer.images],
        output_format=_format(answer),
    )
    body = out.model_dump_json(exclude_none=True)
    return Response(body, media_type="application/json")


async def _deliverable(request: Request, service: ImageService, answer: ImageAnswer) -> Response:
    """The answer, unless it is over what the platform delivers (b64_json on AWS Lambda's
    buffered images function: 6 MB; on Vercel: 4.5 MB). Then the pictures are kept in the media
    store and a 400 ``response_too_large`` gives their URLs and says to ask for ``url``."""
    response = render(answer)
    limit = response_limit(runtime_of(request).settings)
    if limit is None or len(response.body) <= limit.max_bytes:
        return response
    base_url = public_base_url(request)
    urls = [
        i.url or await service.keep(base64.b64decode(i.b64_json or ""), i.mime, base_url)
        for i in answer.images
    ]
    raise InvalidRequestError(
        f"The images are too large to send as b64_json: {limit.platform} delivers at most "
        f"{limit.stated} per response and this answer is {len(response.body)} bytes. Ask for "
        f'response_format "url" instead. These images were kept: {" ".join(urls)}',
        param="response_format",
        code="response_too_large",
    )


def _format(answer: ImageAnswer) -> Literal["png", "webp", "jpeg"] | None:
    kinds = {i.mime for i in answer.images}
    names: dict[str, Literal["png", "webp", "jpeg"]] = {
        "image/png": "png",
        "image/webp": "webp",
        "image/jpeg": "jpeg",
    }
    return names.get(kinds.pop()) if len(kinds) == 1 else None


def _image_model(registry: Registry, model: str | None, default: str, *, edit: bool) -> ModelSpec:
    spec = registry.resolve(model or default)
    if spec.is_xai and edit:
        raise InvalidRequestError(
            f"The model {spec.id!r} cannot edit images: the xAI API only generates them",
            param="model",
            code="invalid_model",
        )
    wanted = (Kind.IMAGE_EDIT,) if edit else (Kind.IMAGE, Kind.IMAGE_LITE)
    if spec.kind not in wanted:
        what = "edits images" if edit else "generates images"
        raise InvalidRequestError(
            f"The model {spec.id!r} is not one that {what}; try {default}",
            param="model",
            code="invalid_model",
        )
    return spec


@router.post("/images/generations", response_model=ImagesResponseOut, responses=_ERRORS)
async def generations(body: ImageGenerationRequest, request: Request) -> Response:
    if body.stream:
        raise InvalidRequestError("stream is not supported for images", param="stream")
    runtime = runtime_of(request)
    spec = _image_model(runtime.registry(), body.model, DEFAULT_IMAGE_MODEL, edit=False)
    if spec.is_xai:  # the xAI relay (and its HTTP client) loads with the first xAI request
        from grokgate.api.relay import json_object, relay

        return await relay(request, spec, await json_object(request), "images")
    req = ImageRequest(
        spec=spec,
        prompt=body.prompt,
        n=1 if body.n is None else body.n,
        size=body.size,
        response_format=body.response_format or "url",
    )
    service = await runtime.image_service()
    answer = await service.generate(req, base_url=public_base_url(request))
    return await _deliverable(request, service, answer)


@router.post("/images/edits", response_model=ImagesResponseOut, responses=_ERRORS)
async def edits(request: Request) -> Response:
    runtime = runtime_of(request)
    resolver = runtime.attachments()
    form = await read_form(request, max_files=MAX_EDIT_IMAGES + 2)
    try:
        if form.get("mask") is not None:
            raise InvalidRequestError(
                "mask is not supported: grok.com edits the whole picture from the prompt",
                param="mask",
                code="unsupported_parameter",
            )
        parts = [*form.getlist("image"), *form.getlist("image[]")]
        files = [p for p in parts if isinstance(p, UploadFile)]
        if len(files) != len(parts):
            raise InvalidRequestError("image must be uploaded as a file", param="image")
        if not files:
            raise InvalidRequestError("image: at least one picture is required", param="image")
        if len(files) > MAX_EDIT_IMAGES:
            raise InvalidRequestError(
                f"at most {MAX_EDIT_IMAGES} pictures can be edited together", param="image"
            )
        inputs = [
            await read_image(part, resolver, param="image", index=index)
            for index, part in enumerate(files)
        ]
        fields = form_fields(form)
    finally:
        await form.close()
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequestError("prompt is required", param="prompt")
    response_format = fields.get("response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise InvalidRequestError(
            "response_format must be url or b64_json", param="response_format"
        )
    req = ImageRequest(
        spec=_image_model(runtime.registry(), fields.get("model"), DEFAULT_EDIT_MODEL, edit=True),
        prompt=prompt,
        n=_int(fields.get("n"), "n", 1),
        size=fields.get("size"),
        response_format=response_format,
        inputs=tuple(inputs),
    )
    service = await runtime.image_service()
    answer = await service.generate(req, base_url=public_base_url(request))
    return await _deliverable(request, service, answer)


def _int(value: Any, param: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{param} must be an integer", param=param) from exc
