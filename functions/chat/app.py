"""Chat function: /v1/chat/completions, /v1/responses and /v1/messages, streamed through AWS
Lambda Web Adapter (``response_stream`` mode).

The adapter runs ``run.sh``, which starts uvicorn with ``app:create`` as a factory, so nothing is
built when this module is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

SURFACES = ("chat",)  # what this function serves (template.yaml routes exactly these)


def create() -> FastAPI:
    from grokgate.api.app import create_app

    return create_app(surfaces=SURFACES)
