"""The SQLite job store under cancellation as the SSE writer does it (an anyio cancel scope,
level-triggered): a cancelled write still ends its transaction."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import anyio

from grokgate.stores.jobs_sqlite import SqliteJobStore
from tests.stores.test_job_store import job
from tests.support import FakeClock


async def test_a_cancelled_sqlite_write_still_ends_its_transaction(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Cancelled as the SSE writer cancels (an anyio scope, level-triggered): the write runs to
    its end and the connection keeps no transaction (else SQLite's write lock stays taken)."""
    path = tmp_path / "cancel" / "grokgate.db"
    store = SqliteJobStore(path, clock=clock)
    try:
        first = job(clock)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await store.create(first)
        assert scope.cancelled_caught
        for _ in range(100):  # the shielded write finishes in its own task
            if await store.get(first.id) is not None:
                break
            await asyncio.sleep(0.01)
        assert await store.get(first.id) is not None
        probe = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        probe.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the lock was kept
        probe.execute("ROLLBACK")
        probe.close()
        second, created = await store.create(job(clock))
        assert created and await store.get(second.id) == second
    finally:
        await store.close()
