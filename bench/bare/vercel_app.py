"""The baseline of ``coldstart.py`` for module-level ASGI apps (the Vercel entries): a bare
FastAPI app answering ``GET /health``, served by the same in-process ASGI request."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
