"""Work a process repeats while it serves: ``every(seconds, job)`` runs ``job`` at once, then
every ``seconds``, until the block exits. A failed run is logged (redacted) and the next run
goes ahead; exiting cancels the task and waits for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from grokgate.logs import clip, get_logger

__all__ = ["every"]

log = get_logger("background")


@contextlib.asynccontextmanager
async def every(
    seconds: float, job: Callable[[], Awaitable[object]], *, what: str
) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next run may succeed: say why this one failed
                log.warning("%s failed: %s: %s", what, type(exc).__name__, clip(str(exc), 300))
            await asyncio.sleep(seconds)

    task = asyncio.create_task(loop(), name=what)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
