"""Two instances (two pools over two store objects on one storage) under contention.

200 concurrent lease attempts on 10 accounts with a cap of 3: never more than 30 held at once,
quota never below zero, and every slot comes back — released, or reclaimed after its holder
"crashed" (never released) and the lease expired.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.registry import resolve
from grokgate.errors import GrokGateError
from grokgate.stores.records import ModeQuota
from tests.stores.store_support import StoreFactory
from tests.support import FakeClock

FAST = resolve("grok-4.20-0309-non-reasoning")
ACCOUNTS, CAP, ATTEMPTS, QUOTA = 10, 3, 200, 15


class Tally:
    def __init__(self) -> None:
        self.held = 0
        self.peak = 0
        self.granted = 0
        self.refused = 0
        self.crashed = 0

    def take(self) -> None:
        self.held += 1
        self.granted += 1
        self.peak = max(self.peak, self.held)


async def _attempt(pool: AccountPool, tally: Tally, rng: random.Random, crash_rate: float) -> None:
    try:
        account, lease = await pool.lease(FAST)
    except GrokGateError:
        tally.refused += 1
        return
    tally.take()
    await asyncio.sleep(rng.random() * 0.01)
    if rng.random() < crash_rate:
        tally.crashed += 1  # the holder dies: no release, the lease stays until it expires
        return
    tally.held -= 1
    await pool.finish(account, lease)


@pytest.mark.parametrize("crash_rate", [0.0, 0.3])
async def test_two_instances_never_exceed_caps_or_quotas(
    make_store: StoreFactory, clock: FakeClock, crash_rate: float
) -> None:
    one, two = make_store(clock), make_store(clock)
    for i in range(ACCOUNTS):
        account, _ = await one.add_account(f"concurrency-token-{i:02d}", max_inflight=CAP)
        quota = ModeQuota(remaining=QUOTA, total=30, window=86400, reset_at=clock.now + 86400)
        await one.sync_quotas(account.id, {"fast": quota})
    pools = [AccountPool(s, snapshot_seconds=0.05, clock=clock) for s in (one, two)]
    rng = random.Random(5)
    tally = Tally()
    await asyncio.gather(*(_attempt(pools[n % 2], tally, rng, crash_rate) for n in range(ATTEMPTS)))

    assert tally.peak <= ACCOUNTS * CAP
    assert tally.granted + tally.refused == ATTEMPTS
    assert tally.granted <= ACCOUNTS * QUOTA
    accounts = await two.list_accounts()
    spent = sum(QUOTA - a.quotas["fast"].remaining for a in accounts)
    assert all(a.quotas["fast"].remaining >= 0 for a in accounts)
    assert spent == tally.granted  # every grant spent exactly one query, refusals none
    assert sum(a.inflight for a in accounts) == tally.crashed  # only dead holders remain

    clock.now += one.lease_seconds  # the dead holders' leases expire...
    assert await two.reclaim_expired() == tally.crashed  # ...and their slots come back
    assert all(a.inflight == 0 for a in await one.list_accounts())
    for pool in pools:
        await pool.aclose()


async def test_demand_above_quota_is_refused_not_overdrawn(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    one, two = make_store(clock), make_store(clock)
    ids = []
    for i in range(3):
        account, _ = await one.add_account(f"quota-token-{i}", max_inflight=50)
        quota = ModeQuota(remaining=4, total=30, window=86400, reset_at=clock.now + 86400)
        await one.sync_quotas(account.id, {"fast": quota})
        ids.append(account.id)
    stores = (one, two)
    got = await asyncio.gather(*(stores[n % 2].acquire(ids[n % 3], "fast") for n in range(60)))
    assert sum(g.lease is not None for g in got) == 12
    assert all(a.quotas["fast"].remaining == 0 for a in await two.list_accounts())
