"""Videos function: the /v1/videos routes (buffered through Mangum) and the video worker.

Creating a video stores a queued job and invokes this same function asynchronously
(``InvocationType=Event``) with ``{"grokgate_video_job": "<id>"}``; that invocation runs the job
to its end (completed or failed) and returns nothing to anyone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from grokgate.core.media.runners import WORKER_EVENT_KEY  # a constant: no clients are built
from grokgate.manifest import function

SURFACES = function("videos").surfaces  # grokgate.manifest: template.yaml routes these
_adapter: Any = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and WORKER_EVENT_KEY in event:
        return run_worker(str(event[WORKER_EVENT_KEY]))
    global _adapter
    if _adapter is None:  # built on the first invocation, not at import (cold start)
        from mangum import Mangum

        from grokgate.api.app import create_app

        _adapter = Mangum(create_app(surfaces=SURFACES), lifespan="off")
    result: dict[str, Any] = _adapter(event, context)
    return result


def run_worker(job_id: str) -> dict[str, Any]:
    """Run one video job in a fresh runtime (its clients belong to this event loop)."""

    async def main() -> None:
        from grokgate.config import get_settings
        from grokgate.runtime import Runtime

        runtime = Runtime(get_settings(), stores=function("videos").stores)
        try:
            await (await runtime.video_worker()).run(job_id)
        finally:
            await runtime.aclose()

    asyncio.run(main())
    return {"job": job_id}
