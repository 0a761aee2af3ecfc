"""The Anthropic renderer of grokgate's error tree.

Body: ``{"type": "error", "error": {"type": ..., "message": ...}}``. Status follows Anthropic's
table: the error's own status, except that "overloaded" (no account can serve) is 529, which the
``anthropic`` SDK raises as ``OverloadedError``. Anthropic's body has no ``param`` field, so the
parameter an error is about leads its message (``max_tokens: Field required``), as Anthropic's do.
An error with ``anthropic_details`` (the thread errors) carries them as ``error.details``, where
the SDK reads ``error_code`` (``thread_not_found`` makes its thread helpers resend everything).
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from grokgate.errors import GrokGateError
from grokgate.logs import redact

OVERLOADED_STATUS = 529


def error_status(error: GrokGateError) -> int:
    return OVERLOADED_STATUS if error.anthropic_type == "overloaded_error" else error.status


def error_message(error: GrokGateError) -> str:
    message = error.message
    if error.param and error.param not in message:
        message = f"{error.param}: {message}"
    return redact(message)


def error_body(error: GrokGateError) -> dict[str, object]:
    inner: dict[str, object] = {"type": error.anthropic_type, "message": error_message(error)}
    details = getattr(error, "anthropic_details", None)
    if details:
        inner["details"] = details
    return {"type": "error", "error": inner}


def error_response(error: GrokGateError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error_status(error), headers=error.headers())
