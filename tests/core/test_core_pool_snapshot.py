"""AccountPool's snapshot: loading, background refresh, re-reads, lease reclaim, aclose."""

from __future__ import annotations

import asyncio

import pytest

from grokgate.errors import NoAccountAvailableError, StoreUnavailableError
from tests.core.pool_support import FAST, Harness, settle


@pytest.fixture
def h(pool_harness: Harness) -> Harness:
    return pool_harness


# --- the snapshot ------------------------------------------------------------------------


async def test_the_first_lease_loads_the_snapshot(h: Harness) -> None:
    await h.add("token-a-000000")
    assert h.store.scans == 0
    assert h.pool.snapshot() == []
    await h.pool.lease(FAST)
    assert h.store.scans == 1
    assert len(h.pool.snapshot()) == 1


async def test_leases_do_not_rescan_while_the_snapshot_is_young(h: Harness) -> None:
    await h.pair()
    for _ in range(4):
        await h.use()
        h.clock.now += 1.0  # 4 s in all, under snapshot_seconds
    assert h.store.scans == 1
    assert h.pool._background is None


async def test_a_stale_snapshot_is_refreshed_in_the_background(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.pool.lease(FAST)
    added, _ = await h.other_store().add_account("token-b-000000")
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()  # the scan cannot finish...
    await asyncio.wait_for(h.pool.lease(FAST), 5)  # ...yet the lease does not wait for it
    task = h.pool._background
    assert task is not None
    assert added.id not in {a.id for a in h.pool.snapshot()}
    h.store.gate.set()
    await task
    assert h.store.scans == 2
    assert h.pool._background is None
    assert added.id in {a.id for a in h.pool.snapshot()}


async def test_only_one_background_refresh_at_a_time(h: Harness) -> None:
    await h.pair()
    await h.pool.lease(FAST)
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()
    await h.pool.lease(FAST)
    task = h.pool._background
    await h.pool.lease(FAST)
    assert h.pool._background is task
    h.store.gate.set()
    assert task is not None
    await task
    assert h.store.scans == 2


async def test_a_failed_background_refresh_keeps_the_snapshot(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.use()
    before = h.pool.snapshot()
    h.clock.now += 5.0
    h.store.scan_error = StoreUnavailableError("the disk is gone")
    await h.pool.lease(FAST)  # served from the snapshot
    await settle(h.pool)  # the failure is logged, not raised
    assert h.store.scans == 2
    assert h.pool._background is None
    assert [a.id for a in h.pool.snapshot()] == [a.id for a in before]
    h.store.scan_error = None
    await h.pool.lease(FAST)  # the next request tries again
    await settle(h.pool)
    assert h.store.scans == 3


async def test_an_account_added_by_another_store_object_is_found(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)  # the only account is now busy
    other = h.other_store()
    added, _ = await other.add_account("token-b-000000")
    h.clock.now += 1.0
    account, _ = await h.pool.lease(FAST)  # nothing in the view: re-read once, now
    assert account.id == added.id
    assert h.store.scans == 2


async def test_an_empty_view_is_reread_at_most_once_a_second(h: Harness) -> None:
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)
    added, _ = await h.other_store().add_account("token-a-000000")
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)  # the view is brand new: trusted
    assert h.store.scans == 1
    h.clock.now += 1.0
    account, _ = await h.pool.lease(FAST)
    assert account.id == added.id
    assert h.store.scans == 2


async def test_a_lease_that_finds_nothing_rereads_only_once(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)
    h.clock.now += 1.0
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)
    assert h.store.scans == 2


async def test_a_removed_account_leaves_the_snapshot(h: Harness) -> None:
    gone, kept = await h.pair()
    await h.pool.refresh()
    assert await h.other_store().remove_account(gone.id)
    account, _ = await h.pool.lease(FAST)
    assert account.id == kept.id
    assert [a.id for a in h.pool.snapshot()] == [kept.id]


async def test_refresh_reclaims_expired_leases(h: Harness) -> None:
    added = await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)  # its holder dies: never finished
    h.clock.now += h.store.lease_seconds
    await h.pool.refresh()
    stored = await h.get(added)
    assert stored.leases == {}
    assert h.view(added).leases == {}
    account, _ = await h.pool.lease(FAST)
    assert account.id == added.id


async def test_refresh_leaves_live_leases_alone(h: Harness) -> None:
    added = await h.add("token-a-000000")
    _, lease = await h.pool.lease(FAST)
    h.clock.now += h.store.lease_seconds - 1
    await h.pool.refresh()
    assert set((await h.get(added)).leases) == {lease.id}


async def test_refresh_does_not_undo_a_release_written_during_the_scan(h: Harness) -> None:
    """A write's result goes back into the snapshot; a scan that read the account before that
    write must not put the older state back (here: a held lease, so a spurious 503)."""
    added = await h.add("token-a-000000", max_inflight=1)
    account, lease = await h.pool.lease(FAST)
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()
    scan = asyncio.create_task(h.pool.refresh())
    await asyncio.wait_for(h.store.at_gate.wait(), 5)  # the scan read the lease as held
    await h.pool.finish(account, lease)  # released while the scan is in flight
    h.store.gate.set()
    await scan
    assert (await h.get(added)).inflight == 0
    again, _ = await h.pool.lease(FAST)  # the account is free: no 503
    assert again.id == added.id


async def test_aclose_cancels_a_pending_refresh(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.pool.lease(FAST)
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()
    await h.pool.lease(FAST)
    task = h.pool._background
    assert task is not None and not task.done()
    await h.pool.aclose()
    assert task.cancelled()
    assert h.pool._background is None


async def test_aclose_without_a_refresh_is_a_no_op(h: Harness) -> None:
    await h.pool.aclose()
    assert h.pool._background is None
