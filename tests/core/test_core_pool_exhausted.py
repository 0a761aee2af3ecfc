"""AccountPool with nothing to lease: 429 when windows are spent, 503 otherwise."""

from __future__ import annotations

import pytest

from grokgate.core.accounts.pool import BUSY_RETRY_MAX
from grokgate.errors import NoAccountAvailableError, RateLimitError, Verdict
from grokgate.stores.records import Tier
from tests.core.pool_support import AUTO, FAST, Harness, failure


@pytest.fixture
def h(pool_harness: Harness) -> Harness:
    return pool_harness


# --- nothing to lease --------------------------------------------------------------------


async def test_all_busy_is_a_503_with_retry_after(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    error = info.value
    assert error.status == 503
    assert error.retry_after == BUSY_RETRY_MAX  # the lease expires in 360 s: bounded
    assert "busy" in error.message
    assert error.headers() == {"Retry-After": "5"}


async def test_all_quota_spent_is_a_429_with_the_soonest_refill(h: Harness) -> None:
    await h.pair()
    a, lease_a = await h.pool.lease(FAST)
    b, lease_b = await h.pool.lease(FAST)
    await h.pool.finish(a, lease_a, failure(Verdict.RATE_LIMITED, retry_after=100.0))
    await h.pool.finish(b, lease_b, failure(Verdict.RATE_LIMITED, retry_after=40.0))
    h.clock.now += 5.0
    with pytest.raises(RateLimitError) as info:
        await h.pool.lease(FAST)
    error = info.value
    assert not isinstance(error, NoAccountAvailableError)
    assert error.status == 429
    assert error.retry_after == pytest.approx(35.0)
    assert error.headers() == {"Retry-After": "35"}
    assert "fast" in error.message


async def test_a_window_used_up_is_a_429_too(h: Harness) -> None:
    a, b = await h.pair()
    await h.set_quota(a, "fast", remaining=0, total=30, reset_in=3600.0)
    await h.set_quota(b, "fast", remaining=0, total=30, reset_in=7200.0)
    with pytest.raises(RateLimitError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == pytest.approx(3600.0)


async def test_retry_after_is_at_least_one_second(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.use(error=failure(Verdict.RATE_LIMITED, retry_after=0.25))
    with pytest.raises(RateLimitError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == 1.0


async def test_busy_and_spent_mix_is_a_503(h: Harness) -> None:
    busy = await h.add("token-a-000000", max_inflight=1)
    spent = await h.add("token-b-000000")
    account, lease = await h.pool.lease(FAST, frozenset({busy.id}))
    assert account.id == spent.id
    await h.pool.finish(account, lease, failure(Verdict.RATE_LIMITED, retry_after=500.0))
    account, _ = await h.pool.lease(FAST)
    assert account.id == busy.id
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == BUSY_RETRY_MAX
    assert "busy" in info.value.message


async def test_no_account_of_the_tier_names_the_tiers(h: Harness) -> None:
    await h.add("token-basic-000", Tier.BASIC)
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(AUTO)
    message = info.value.message
    assert info.value.status == 503
    assert "super" in message
    assert "heavy" in message
    assert AUTO.id in message
    assert info.value.retry_after is not None


async def test_empty_pool_is_a_503(h: Harness) -> None:
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.status == 503
    assert "basic" in info.value.message
    assert info.value.retry_after is not None


async def test_only_dead_accounts_is_a_503_saying_so(h: Harness) -> None:
    await h.pair()
    await h.use(error=failure(Verdict.EXPIRED))
    await h.use(error=failure(Verdict.BLOCKED))
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert "expired or disabled" in info.value.message


async def test_excluding_every_account_is_a_503(h: Harness) -> None:
    a = await h.add("token-a-000000")
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST, frozenset({a.id}))
    stored = await h.get(a)
    assert stored.inflight == 0
    assert stored.quotas["fast"].remaining == 30
