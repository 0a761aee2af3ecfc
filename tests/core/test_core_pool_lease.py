"""AccountPool leases: which account and mode a request gets, and per-mode quota windows."""

from __future__ import annotations

import pytest

from grokgate.errors import NoAccountAvailableError, RateLimitError, Verdict
from grokgate.stores.base import Feedback
from grokgate.stores.records import Tier
from tests.core.pool_support import AUTO, DAY, FAST, FAST_BEST, Harness, failure


@pytest.fixture
def h(pool_harness: Harness) -> Harness:
    return pool_harness


# --- lease -------------------------------------------------------------------------------


async def test_lease_takes_a_slot_and_a_query(h: Harness) -> None:
    added = await h.add("token-a-000000")
    account, lease = await h.pool.lease(FAST)
    stored = await h.get(added)
    assert lease.account_id == account.id == added.id
    assert lease.mode == "fast"
    assert lease.acquired_at == h.clock.now
    assert lease.expires_at == h.clock.now + h.store.lease_seconds
    assert stored.leases == {lease.id: lease.expires_at}
    assert stored.quotas["fast"].remaining == 29
    assert account == stored  # the state after the write, no second read


async def test_lease_picks_the_healthiest_account(h: Harness) -> None:
    weak, strong = await h.pair()
    await h.store.record(weak.id, Feedback(health_factor=0.5))
    account, _ = await h.pool.lease(FAST)
    assert account.id == strong.id
    assert (await h.get(strong)).inflight == 1
    assert (await h.get(weak)).inflight == 0


async def test_lease_picks_the_account_with_more_quota_left(h: Harness) -> None:
    low, high = await h.pair()
    await h.set_quota(low, "fast", remaining=10, total=30)
    account, _ = await h.pool.lease(FAST)
    assert account.id == high.id


async def test_lease_prefers_an_idle_account(h: Harness) -> None:
    busy, idle = await h.pair()
    held = await h.store.acquire(busy.id, "fast")  # another instance holds a slot
    assert held.lease is not None
    await h.set_quota(busy, "fast", remaining=30, total=30)  # same quota left as ``idle``
    h.clock.now += 20.0  # past the recent-use penalty, the lease still live
    account, _ = await h.pool.lease(FAST)
    assert account.id == idle.id


async def test_lease_prefers_the_cheapest_tier_that_can_serve(h: Harness) -> None:
    await h.add("token-heavy-000", Tier.HEAVY)  # more quota and healthier, but dearer
    basic = await h.add("token-basic-000", Tier.BASIC)
    await h.store.record(basic.id, Feedback(health_factor=0.2))
    account, _ = await h.pool.lease(FAST)
    assert account.id == basic.id


async def test_prefer_best_models_try_the_best_tier_first(h: Harness) -> None:
    await h.add("token-basic-000", Tier.BASIC)
    await h.add("token-super-000", Tier.SUPER)
    heavy = await h.add("token-heavy-000", Tier.HEAVY)
    account, lease = await h.pool.lease(FAST_BEST)
    assert account.id == heavy.id
    assert lease.mode == "fast"


async def test_lease_skips_excluded_accounts(h: Harness) -> None:
    a, b = await h.pair()
    account, _ = await h.pool.lease(FAST, frozenset({a.id}))
    assert account.id == b.id


async def test_lease_spreads_over_accounts_while_busy(h: Harness) -> None:
    await h.pair()
    first, _ = await h.pool.lease(FAST)
    second, _ = await h.pool.lease(FAST)
    assert first.id != second.id


async def test_lease_respects_max_inflight(h: Harness) -> None:
    account = await h.add("token-a-000000", max_inflight=2)
    await h.pool.lease(FAST)
    await h.pool.lease(FAST)
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)
    assert (await h.get(account)).inflight == 2


async def test_a_refused_write_moves_on_and_teaches_the_snapshot(h: Harness) -> None:
    a, b = await h.pair(max_inflight=1)
    await h.pool.refresh()
    taken = await h.other_store().acquire(a.id, "fast")  # the snapshot does not know
    assert taken.lease is not None
    account, _ = await h.pool.lease(FAST)
    assert account.id == b.id
    assert h.view(a).inflight == 1


# --- quota windows -----------------------------------------------------------------------


async def test_a_429_spends_only_that_modes_window(h: Harness) -> None:
    added = await h.add("token-super-000", Tier.SUPER)
    stored = await h.use(AUTO, failure(Verdict.RATE_LIMITED, retry_after=600.0))
    assert stored.quotas["auto"].remaining == 0
    assert stored.quotas["auto"].reset_at == pytest.approx(h.clock.now + 600.0)
    assert stored.quotas["fast"].remaining == 140
    assert stored.quotas["expert"].remaining == 50
    _, fast = await h.pool.lease(FAST)  # other modes still leasable
    assert fast.mode == "fast"
    _, auto = await h.pool.lease(AUTO)  # AUTO falls back to the FAST window
    assert auto.mode == "fast"
    stored = await h.get(added)
    assert stored.quotas["fast"].remaining == 138
    assert stored.quotas["auto"].remaining == 0


async def test_auto_falls_back_to_fast_then_expert(h: Harness) -> None:
    await h.add("token-super-000", Tier.SUPER)
    _, lease = await h.pool.lease(AUTO)
    assert lease.mode == "auto"
    modes = []
    for _ in range(2):
        account, lease = await h.pool.lease(AUTO)
        modes.append(lease.mode)
        await h.pool.finish(account, lease, failure(Verdict.RATE_LIMITED, retry_after=600.0))
    assert modes == ["auto", "fast"]
    _, lease = await h.pool.lease(AUTO)
    assert lease.mode == "expert"


async def test_basic_accounts_never_serve_auto_through_the_fast_window(h: Harness) -> None:
    await h.add("token-basic-000", Tier.BASIC)
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(AUTO)


async def test_the_account_serves_the_mode_again_after_the_reset_time(h: Harness) -> None:
    added = await h.add("token-a-000000")
    await h.use(error=failure(Verdict.RATE_LIMITED, retry_after=10.0))
    with pytest.raises(RateLimitError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == pytest.approx(10.0)
    h.clock.now += 10.0
    account, _ = await h.pool.lease(FAST)
    assert account.id == added.id
    quota = (await h.get(added)).quotas["fast"]
    assert quota.remaining == 29  # a fresh window, one query taken
    assert quota.reset_at == pytest.approx(h.clock.now + DAY)


async def test_an_account_in_cooldown_serves_again_once_it_ends(h: Harness) -> None:
    added = await h.add("token-a-000000")
    await h.store.record(added.id, Feedback(cooldown_until=h.clock.now + 120.0))
    with pytest.raises(RateLimitError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == pytest.approx(120.0)
    h.clock.now += 120.0
    account, _ = await h.pool.lease(FAST)
    assert account.id == added.id
