"""Work that a cancellation must not cut in half (store writes, lease releases).

A client that goes away mid-stream cancels the task that streams its answer. Under anyio (the
SSE writer's task group) that cancellation is level-triggered: every later ``await`` of the
cancelled task raises again, so the cleanup in a ``finally`` (give the lease back) cannot
``await`` anything to its end, and an SQLite transaction cut after ``BEGIN IMMEDIATE`` keeps
the write lock on the shared connection for good. :func:`shielded` runs such work in a task of
its own: the caller may stop waiting, the work still completes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from grokgate.logs import get_logger, redact

T = TypeVar("T")
log = get_logger("shield")
_running: set[asyncio.Task[Any]] = set()  # the loop keeps only weak references to tasks


async def shielded(work: Coroutine[Any, Any, T]) -> T:
    """The result of ``work``, run to its end even if the caller is cancelled meanwhile (the
    caller then gets its ``CancelledError`` at once; a failure of ``work`` is logged)."""
    task = asyncio.ensure_future(work)
    _running.add(task)
    task.add_done_callback(_running.discard)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_report)  # nobody waits for the result any more
        raise


def _report(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("work finished after its caller left, and failed: %s", redact(repr(exc)))
