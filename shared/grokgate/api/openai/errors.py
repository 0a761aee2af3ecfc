"""The OpenAI renderer of grokgate's error tree: ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from grokgate.api.openai.common_schemas import ErrorDetail, ErrorOut
from grokgate.errors import GrokGateError
from grokgate.logs import redact


def error_body(error: GrokGateError) -> dict[str, object]:
    detail = ErrorDetail(
        message=redact(error.message),
        type=error.openai_type,
        param=error.param,
        code=error.code,
    )
    return ErrorOut(error=detail).model_dump(mode="json")


def error_response(error: GrokGateError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status, headers=error.headers())
