"""AccountPool: a long use extends its lease while it runs; "busy" says when a slot frees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from grokgate.core.accounts.pool import BUSY_RETRY_MAX, AccountPool
from grokgate.errors import NoAccountAvailableError
from tests.core.pool_support import FAST, CountingStore, Harness
from tests.support import FakeClock


@pytest.fixture
def h(pool_harness: Harness) -> Harness:
    return pool_harness


async def test_busy_retry_after_is_the_soonest_lease_expiry(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.add("token-b-000000", max_inflight=1)
    await h.pool.lease(FAST)
    h.clock.now += 100.0
    await h.pool.lease(FAST)
    h.clock.now += h.store.lease_seconds - 103.5  # the first lease expires in 3.5 s
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == pytest.approx(3.5)
    assert info.value.headers() == {"Retry-After": "4"}


async def test_busy_retry_after_is_bounded(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)
    with pytest.raises(NoAccountAvailableError) as info:  # 360 s away: bounded
        await h.pool.lease(FAST)
    assert info.value.retry_after == BUSY_RETRY_MAX
    h.clock.now += h.store.lease_seconds - 0.2
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == 1.0  # at least a second


async def test_a_long_use_extends_its_lease_and_a_short_one_writes_nothing_more(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = CountingStore(tmp_path / "pool.db", clock)
    store.lease_seconds = 0.6  # extended every 0.2 s (real time) while held
    pool = AccountPool(store, clock=clock)
    try:
        account, _ = await store.add_account("token-a-000000", max_inflight=1)
        acc, lease = await pool.lease(FAST)
        writes = store.writes
        async with pool.holding(acc, lease):
            await asyncio.sleep(0.05)  # shorter than the interval: no extension
        assert store.writes == writes
        async with pool.holding(acc, lease):
            clock.now += 0.5
            await asyncio.sleep(0.35)
        assert store.writes >= writes + 1
        stored = await store.get_account(account.id)
        assert stored is not None and stored.leases[lease.id] == clock.now + 0.6
        writes = store.writes
        await asyncio.sleep(0.3)  # the holding ended: the extensions stopped
        assert store.writes == writes
        await pool.finish(acc, lease)
    finally:
        await pool.aclose()
        await store.close()
