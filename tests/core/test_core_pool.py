"""AccountPool over a real SQLite store: leases, feedback per verdict, 503 when exhausted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grokgate.core.accounts.pool import NO_ACCOUNT_RETRY_AFTER, SUCCESS_BONUS, AccountPool
from grokgate.core.registry import resolve
from grokgate.errors import NoAccountAvailableError, UpstreamError, Verdict
from grokgate.logs import mask, register_secret
from grokgate.stores.base import Feedback
from grokgate.stores.records import Account, Status, Tier
from grokgate.stores.sqlite import SqliteAccountStore

FAST = resolve("grok-4.20-0309-non-reasoning")  # [basic, super, heavy]
AUTO = resolve("grok-4.20-0309")  # [super, heavy]


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    pool: AccountPool
    store: SqliteAccountStore
    clock: Clock

    async def add(self, token: str, tier: Tier = Tier.BASIC, max_inflight: int = 8) -> Account:
        account, _ = await self.store.add_account(token, tier, max_inflight=max_inflight)
        return account

    async def get(self, account: Account) -> Account:
        fresh = await self.store.get_account(account.id)
        assert fresh is not None
        return fresh


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = Clock()
    store = SqliteAccountStore(tmp_path / "pool.db", clock=clock)
    yield Harness(AccountPool(store, cooldown_seconds=900.0, clock=clock), store, clock)
    await store.close()


def failure(verdict: Verdict, message: str = "boom", retry_after: float | None = None):
    return UpstreamError(message, verdict=verdict, retry_after=retry_after)


# --- lease / release ---------------------------------------------------------------------


async def test_lease_picks_the_best_account_and_takes_a_slot(h: Harness) -> None:
    weak = await h.add("token-weak-000")
    strong = await h.add("token-strong-000")
    await h.store.record(weak.id, Feedback(success=False, health_factor=0.5))
    account, lease = await h.pool.lease(FAST)
    assert account.id == strong.id
    assert lease.account_id == strong.id
    assert (await h.get(strong)).inflight == 1
    assert (await h.get(weak)).inflight == 0


async def test_lease_prefers_the_cheapest_tier_that_can_serve(h: Harness) -> None:
    await h.add("token-heavy-000", Tier.HEAVY)
    basic = await h.add("token-basic-000", Tier.BASIC)
    account, _ = await h.pool.lease(FAST)
    assert account.id == basic.id


async def test_lease_skips_excluded_accounts(h: Harness) -> None:
    a = await h.add("token-a-000000")
    b = await h.add("token-b-000000")
    account, _ = await h.pool.lease(FAST, frozenset({a.id}))
    assert account.id == b.id


async def test_lease_spreads_over_accounts_while_busy(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.add("token-b-000000")
    first, _ = await h.pool.lease(FAST)
    second, _ = await h.pool.lease(FAST)
    assert first.id != second.id


async def test_release_gives_the_slot_back(h: Harness) -> None:
    account = await h.add("token-a-000000")
    _, lease = await h.pool.lease(FAST)
    assert (await h.get(account)).inflight == 1
    await h.pool.release(lease)
    assert (await h.get(account)).inflight == 0


# --- success -----------------------------------------------------------------------------


async def test_success_raises_health_by_the_bonus(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.record(account.id, Feedback(success=False, health_factor=0.5))
    await h.pool.report_success(account)
    assert (await h.get(account)).health == pytest.approx(0.5 + SUCCESS_BONUS)
    assert pytest.approx(0.12) == SUCCESS_BONUS


async def test_success_health_is_capped_at_one(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.record(account.id, Feedback(success=False, health_factor=0.95))
    await h.pool.report_success(account)
    await h.pool.report_success(account)
    assert (await h.get(account)).health == pytest.approx(1.0)


async def test_success_resets_the_fail_count(h: Harness) -> None:
    account = await h.add("token-a-000000")
    for _ in range(3):
        await h.pool.report_failure(account, failure(Verdict.UNAVAILABLE))
    assert (await h.get(account)).fail_count == 3
    await h.pool.report_success(account)
    assert (await h.get(account)).fail_count == 0


async def test_success_turns_a_cooling_account_active(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.set_status(account.id, Status.COOLING)
    await h.pool.report_success(await h.get(account))
    assert (await h.get(account)).status is Status.ACTIVE


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.EXPIRED, Status.DISABLED])
async def test_success_leaves_other_statuses_alone(h: Harness, status: Status) -> None:
    account = await h.add("token-a-000000")
    await h.store.set_status(account.id, status)
    await h.pool.report_success(await h.get(account))
    assert (await h.get(account)).status is status


# --- failure per verdict -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "status", "health"),
    [
        (Verdict.EXPIRED, Status.EXPIRED, 0.55),
        (Verdict.BLOCKED, Status.DISABLED, 0.25),
        (Verdict.RATE_LIMITED, Status.COOLING, 0.45),
        (Verdict.UNAVAILABLE, Status.ACTIVE, 0.75),
        (Verdict.CHALLENGED, Status.ACTIVE, 1.0),
        (Verdict.MODE_UNAVAILABLE, Status.ACTIVE, 1.0),
    ],
)
async def test_failure_per_verdict(
    h: Harness, verdict: Verdict, status: Status, health: float
) -> None:
    account = await h.add("token-a-000000")
    await h.pool.report_failure(account, failure(verdict, "upstream said no", retry_after=60))
    fresh = await h.get(account)
    assert fresh.status is status
    assert fresh.health == pytest.approx(health)
    assert fresh.fail_count == 1
    assert fresh.last_error == f"{verdict.value}: upstream said no"


async def test_challenge_leaves_a_cooling_account_cooling(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.set_status(account.id, Status.COOLING)
    await h.pool.report_failure(await h.get(account), failure(Verdict.CHALLENGED))
    fresh = await h.get(account)
    assert (fresh.status, fresh.health, fresh.cooldown_until) == (Status.COOLING, 1.0, 0.0)


async def test_rate_limit_cools_down_for_retry_after(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.pool.report_failure(account, failure(Verdict.RATE_LIMITED, retry_after=42.0))
    fresh = await h.get(account)
    assert fresh.status is Status.COOLING
    assert fresh.cooldown_until == pytest.approx(h.clock.now + 42.0)


async def test_rate_limit_without_retry_after_uses_the_pool_cooldown(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.pool.report_failure(account, failure(Verdict.RATE_LIMITED, retry_after=None))
    assert (await h.get(account)).cooldown_until == pytest.approx(h.clock.now + 900.0)


async def test_cooled_account_is_leased_again_after_its_cooldown(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.pool.report_failure(account, failure(Verdict.RATE_LIMITED, retry_after=10.0))
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)
    h.clock.now += 10.0
    leased, _ = await h.pool.lease(FAST)
    assert leased.id == account.id


async def test_non_rate_limit_failures_do_not_touch_the_cooldown(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.pool.report_failure(account, failure(Verdict.UNAVAILABLE, retry_after=99.0))
    assert (await h.get(account)).cooldown_until == 0.0


async def test_last_error_never_contains_a_registered_secret(h: Harness) -> None:
    secret = "sso-secret-value-4f9a2c7e1b"
    register_secret(secret)
    account = await h.add("token-a-000000")
    error = failure(Verdict.UNAVAILABLE, f"request with cookie {secret} failed")
    await h.pool.report_failure(account, error)
    last_error = (await h.get(account)).last_error
    assert last_error is not None
    assert secret not in last_error
    assert mask(secret) in last_error
    assert last_error.startswith("unavailable: request with cookie ")


async def test_last_error_masks_cookie_shaped_values(h: Harness) -> None:
    account = await h.add("token-a-000000")
    error = failure(Verdict.EXPIRED, "rejected sso=unregistered-cookie-value; path=/")
    await h.pool.report_failure(account, error)
    last_error = (await h.get(account)).last_error
    assert last_error is not None
    assert "unregistered-cookie-value" not in last_error


async def test_health_never_drops_below_the_floor(h: Harness) -> None:
    account = await h.add("token-a-000000")
    for _ in range(8):
        await h.pool.report_failure(account, failure(Verdict.BLOCKED))
    assert (await h.get(account)).health == pytest.approx(0.05)


# --- exhaustion --------------------------------------------------------------------------


async def test_all_busy_is_a_503_with_retry_after(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    error = info.value
    assert error.status == 503
    assert error.retry_after == NO_ACCOUNT_RETRY_AFTER
    assert "busy" in error.message
    assert error.headers() == {"Retry-After": "30"}


async def test_all_cooling_retry_after_is_the_smallest_remaining_cooldown(h: Harness) -> None:
    a = await h.add("token-a-000000")
    b = await h.add("token-b-000000")
    await h.pool.report_failure(a, failure(Verdict.RATE_LIMITED, retry_after=100.0))
    await h.pool.report_failure(b, failure(Verdict.RATE_LIMITED, retry_after=40.0))
    h.clock.now += 5.0
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == pytest.approx(35.0)
    assert info.value.headers() == {"Retry-After": "35"}


async def test_retry_after_is_at_least_one_second(h: Harness) -> None:
    a = await h.add("token-a-000000")
    await h.pool.report_failure(a, failure(Verdict.RATE_LIMITED, retry_after=0.25))
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == 1.0


async def test_busy_and_cooling_mix_uses_the_default_retry_after(h: Harness) -> None:
    a = await h.add("token-a-000000", max_inflight=1)
    b = await h.add("token-b-000000")
    await h.pool.report_failure(b, failure(Verdict.RATE_LIMITED, retry_after=500.0))
    leased, _ = await h.pool.lease(FAST)
    assert leased.id == a.id
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert info.value.retry_after == NO_ACCOUNT_RETRY_AFTER


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
    assert "basic" in info.value.message


async def test_only_dead_accounts_is_a_503_saying_so(h: Harness) -> None:
    a = await h.add("token-a-000000")
    b = await h.add("token-b-000000")
    await h.pool.report_failure(a, failure(Verdict.EXPIRED))
    await h.pool.report_failure(b, failure(Verdict.BLOCKED))
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    assert "expired or disabled" in info.value.message


async def test_excluding_every_account_is_a_503(h: Harness) -> None:
    a = await h.add("token-a-000000")
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST, frozenset({a.id}))
    assert (await h.get(a)).inflight == 0
