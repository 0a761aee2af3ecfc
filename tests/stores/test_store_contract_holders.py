"""Leases that survive crashes, on every backend: a lease names its holder (an instance id),
a live holder pushes its expiry forward, and the leases of holders known to be dead are given
back by :meth:`AccountStore.reclaim_dead` (the local start-up step), never a live one's."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from grokgate.stores.base import AccountStore
from grokgate.stores.holders import lease_holder, make_holder
from tests.stores.store_support import TOKEN, StoreFactory, fetch
from tests.support import FakeClock

LEGACY = "0123456789abcdef0123456789abcdef"  # a lease id as older versions stored it


@pytest.fixture
def live_process() -> Iterator[int]:
    """Another process that is alive for the whole test (another server on the data dir)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_lease_records_its_holder(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    assert got.lease.holder == store.holder == lease_holder(got.lease.id)
    (stored,) = (await fetch(store, account.id)).leases
    assert lease_holder(stored) == store.holder


async def test_a_lease_without_a_holder_still_loads_and_expires(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=1)
    window, _ = await store._acquire(account.id, "fast", LEGACY, clock.now + 60, clock.now, None)
    assert window == "fast"
    fresh = await fetch(store, account.id)
    assert fresh.leases == {LEGACY: clock.now + 60} and lease_holder(LEGACY) is None
    assert await store.reclaim_dead() == 0  # no holder: nobody can tell it is dead
    assert (await store.acquire(account.id, "fast")).lease is None
    clock.now += 60  # ... it expires as before
    assert (await store.acquire(account.id, "fast")).lease is not None


async def test_extend_pushes_the_expiry_forward(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=1)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    clock.now += store.lease_seconds / 3
    pushed = await store.extend(got.lease, hint=got.account)
    assert pushed.lease is not None and pushed.lease.id == got.lease.id
    assert pushed.lease.expires_at == clock.now + store.lease_seconds
    assert pushed.account == await fetch(store, account.id)
    assert pushed.account.leases == {got.lease.id: pushed.lease.expires_at}
    clock.now = got.lease.expires_at  # the first expiry has passed: still held
    assert (await store.acquire(account.id, "fast")).lease is None
    clock.now = pushed.lease.expires_at  # the holder stopped extending: it expires
    assert (await store.acquire(account.id, "fast")).lease is not None


async def test_a_released_lease_is_not_brought_back_by_extend(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=1)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    await store.release(got.lease)
    again = await store.extend(got.lease, hint=got.account)
    assert again.lease is None
    assert (await fetch(store, account.id)).leases == {}


async def test_reclaim_dead_gives_back_only_dead_holders_leases(
    make_store: StoreFactory, clock: FakeClock, live_process: int
) -> None:
    ours = make_store(clock)
    account, _ = await ours.add_account(TOKEN, max_inflight=8)
    holders = {
        "crashed": make_holder(pid=dead_pid(), start=1),  # its process is gone
        "reused": make_holder(pid=os.getpid(), start=1),  # its pid now runs someone else
        "sibling": make_holder(pid=live_process),  # another live server on the same data
        "remote": make_holder(node="0badf00d"),  # another machine: cannot tell
    }
    leases = {}
    for name, holder in holders.items():
        other = make_store(clock)
        other.holder = holder
        got = await other.acquire(account.id, "fast")
        assert got.lease is not None and got.lease.holder == holder
        leases[name] = got.lease.id
    mine = await ours.acquire(account.id, "fast")
    assert mine.lease is not None
    await ours._acquire(account.id, "fast", LEGACY, clock.now + 60, clock.now, None)

    assert await ours.reclaim_dead() == 2
    kept = set((await fetch(ours, account.id)).leases)
    assert kept == {leases["sibling"], leases["remote"], mine.lease.id, LEGACY}
    assert await ours.reclaim_dead() == 0
