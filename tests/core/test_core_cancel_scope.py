"""Cancellation as the SSE writer does it: an anyio cancel scope, level-triggered (every later
``await`` of the cancelled task raises again). A client that leaves mid-stream must still get
its lease released, and no SQLite transaction may be left open (it would hold the write lock
of the shared connection for good: every later write of the pool would fail)."""

from __future__ import annotations

import asyncio
import sqlite3

import anyio
import pytest

from grokgate.core.chat import ChatJob, ChatService
from grokgate.events import Served, TextDelta
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.stores.transitions import Feedback
from tests.core.chat_support import SPEC, FakeUpstream, Harness


def write_lock_is_free(store: SqliteAccountStore) -> bool:
    """Whether another connection can take SQLite's write lock at once."""
    probe = sqlite3.connect(store.path, timeout=0.2, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


async def settled(h: Harness, account_id: str) -> int:
    """The account's leases once the shielded release (its own task) has run."""
    for _ in range(100):
        if not (await h.get(account_id)).leases:
            break
        await asyncio.sleep(0.01)
    return (await h.get(account_id)).inflight


async def test_a_cancel_scope_mid_stream_releases_the_lease_and_leaves_no_transaction(
    chat_harness: Harness,
) -> None:
    h = chat_harness
    [a] = await h.add(1)
    never = asyncio.Event()

    class Hanging(FakeUpstream):
        async def chat(self, account, message, mode, *, show_reasoning=True, attachments=()):  # type: ignore[no-untyped-def]
            yield Served(account=account.id, transport=self.transport)
            yield TextDelta("Hello")
            await never.wait()
            yield TextDelta("never")

    service = ChatService(h.pool, Hanging())
    seen: list[object] = []
    with anyio.CancelScope() as scope:
        async for event in service.stream(ChatJob(SPEC, "[user]: hi")):
            seen.append(event)
            if isinstance(event, TextDelta):
                scope.cancel()  # the client went away: from now on every await is cancelled
    assert scope.cancelled_caught and len(seen) == 2
    assert await settled(h, a) == 0
    assert h.pool.abandoned == [a] and h.pool.failures == []
    assert write_lock_is_free(h.store)
    # the pool still works: the next answer leases, writes and releases as usual
    out = [e async for e in ChatService(h.pool, FakeUpstream()).stream(ChatJob(SPEC, "[user]: x"))]
    assert TextDelta("Hello") in out
    await h.assert_idle()


async def test_a_store_write_cancelled_by_a_scope_still_ends_its_transaction(
    chat_harness: Harness,
) -> None:
    h = chat_harness
    [a] = await h.add(1)
    got = await h.store.acquire(a, "fast")
    assert got.lease is not None
    with anyio.CancelScope() as scope:
        scope.cancel()  # already cancelled: the write's first await raises at once
        await h.store.release(got.lease, Feedback())
    assert scope.cancelled_caught
    assert await settled(h, a) == 0  # the write ran to its end in its own task
    assert write_lock_is_free(h.store)
    again = await h.store.acquire(a, "fast")
    assert again.lease is not None


@pytest.mark.parametrize("times", [1, 5])
async def test_cancelled_writes_never_wedge_the_connection(
    chat_harness: Harness, times: int
) -> None:
    h = chat_harness
    [a] = await h.add(1)
    for _ in range(times):
        got = await h.store.acquire(a, "fast")
        assert got.lease is not None
        with anyio.move_on_after(0):  # cancelled at its first await, whatever that is
            await h.store.release(got.lease, Feedback())
    assert await settled(h, a) == 0
    assert write_lock_is_free(h.store)
