"""The baseline of ``coldstart.py``: a bare FastAPI app answering ``GET /health`` through Mangum,
built at import as the FastAPI + Mangum examples do. What any such function costs before its
own code runs; grokgate's buffered functions are compared with it."""

from __future__ import annotations

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
