"""The baseline of ``coldstart.py`` for app factories (chat's ``app:create``, which uvicorn
runs behind the Web Adapter) and the Vercel ``app`` entries: a bare FastAPI app answering
``GET /health``, served by the same in-process ASGI request as they are."""

from __future__ import annotations

from fastapi import FastAPI


def create() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
