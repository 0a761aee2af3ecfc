"""Chat function: /v1/chat/completions, /v1/responses and /v1/messages, streamed through AWS
Lambda Web Adapter (``response_stream`` mode).

The adapter runs ``run.sh``, which starts uvicorn with ``app:create`` as a factory, so nothing is
built when this module is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.manifest import function

if TYPE_CHECKING:
    from fastapi import FastAPI

SURFACES = function("chat").surfaces  # grokgate.manifest: template.yaml routes these


def create() -> FastAPI:
    from grokgate.api.app import create_app

    return create_app(surfaces=SURFACES, lazy_routes=True)
