"""Models function: /v1/models and /health, buffered through Mangum (API Gateway REST proxy
events). The API's catch-all route also lands here, so an unknown path gets an OpenAI-style 404."""

from __future__ import annotations

from typing import Any

from grokgate.manifest import function

SURFACES = function("models").surfaces  # grokgate.manifest: template.yaml routes these
_adapter: Any = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _adapter
    if _adapter is None:  # built on the first invocation, not at import (cold start)
        from mangum import Mangum

        from grokgate.api.app import create_app

        _adapter = Mangum(create_app(surfaces=SURFACES), lifespan="off")
    result: dict[str, Any] = _adapter(event, context)
    return result
