"""OpenAI ``/v1/models``: its own module, so the models function loads no chat code."""

from __future__ import annotations

from fastapi import Request

from grokgate.api.deps import runtime_of
from grokgate.api.openai.common_schemas import ErrorOut, ModelListOut, ModelOut
from grokgate.api.routing import v1_router
from grokgate.core.registry import CREATED, ModelSpec

_ERRORS = {status: {"model": ErrorOut} for status in (401, 404)}

router = v1_router()


def _model_out(spec: ModelSpec) -> ModelOut:
    return ModelOut(id=spec.id, created=CREATED, owned_by=spec.owned_by)


@router.get("/models", response_model=ModelListOut, responses=_ERRORS)
async def list_models_route(request: Request) -> ModelListOut:
    return ModelListOut(data=[_model_out(m) for m in runtime_of(request).registry().listed()])


@router.get("/models/{model_id:path}", response_model=ModelOut, responses=_ERRORS)
async def get_model_route(model_id: str, request: Request) -> ModelOut:
    return _model_out(runtime_of(request).registry().resolve(model_id))
