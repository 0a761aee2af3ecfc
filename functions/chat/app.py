"""Chat function: /v1/chat/completions, streamed through AWS Lambda Web Adapter.

The adapter runs ``run.sh``, which starts uvicorn with ``app:create`` as a factory, so nothing is
built when this module is imported.
"""

from __future__ import annotations

from fastapi import FastAPI


def create() -> FastAPI:
    from grokgate.api.app import create_app

    return create_app(surfaces=("chat",))
