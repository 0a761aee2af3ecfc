"""AccountPool.finish: success, abandon, each failure verdict, last_error and quota sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grokgate.core.accounts.feedback import SUCCESS_BONUS
from grokgate.core.accounts.pool import AccountPool
from grokgate.errors import RateLimitError, StoreUnavailableError, Verdict
from grokgate.logs import mask, register_secret
from grokgate.stores.base import Feedback
from grokgate.stores.records import Account, QuotaSource, Status, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from tests.core.pool_support import AUTO, FAST, FakeQuota, Harness, failure
from tests.support import FakeClock


@pytest.fixture
def h(pool_harness: Harness) -> Harness:
    return pool_harness


# --- finish: success and abandon ---------------------------------------------------------


async def test_finish_gives_the_slot_back_in_one_write(h: Harness) -> None:
    added = await h.add("token-a-000000")
    account, lease = await h.pool.lease(FAST)
    assert (await h.get(added)).inflight == 1
    writes, scans = h.store.writes, h.store.scans
    await h.pool.finish(account, lease)
    assert (h.store.writes, h.store.scans) == (writes + 1, scans)
    stored = await h.get(added)
    assert stored.inflight == 0
    assert stored.use_count == 1
    assert h.view(added) == stored  # the write's result goes back into the snapshot


async def test_a_lease_costs_one_write_and_no_read(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.use()
    writes, scans = h.store.writes, h.store.scans
    await h.pool.lease(FAST)
    assert (h.store.writes, h.store.scans) == (writes + 1, scans)


async def test_success_raises_health_by_the_bonus(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.record(account.id, Feedback(health_factor=0.5))
    assert (await h.use()).health == pytest.approx(0.5 + SUCCESS_BONUS)
    assert pytest.approx(0.12) == SUCCESS_BONUS


async def test_success_health_is_capped_at_one(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.record(account.id, Feedback(health_factor=0.95))
    await h.use()
    assert (await h.use()).health == pytest.approx(1.0)


async def test_success_resets_the_fail_count(h: Harness) -> None:
    await h.add("token-a-000000")
    for _ in range(3):
        failed = await h.use(error=failure(Verdict.UNAVAILABLE))
    assert failed.fail_count == 3
    assert (await h.use()).fail_count == 0


async def test_success_keeps_the_query_spent(h: Harness) -> None:
    await h.add("token-a-000000")
    assert (await h.use()).quotas["fast"].remaining == 29


async def test_success_turns_a_cooling_account_active(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.set_status(account.id, Status.COOLING)  # cooldown over: it may serve
    assert (await h.use()).status is Status.ACTIVE


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.EXPIRED, Status.DISABLED])
async def test_success_leaves_other_statuses_alone(h: Harness, status: Status) -> None:
    added = await h.add("token-a-000000")
    account, lease = await h.pool.lease(FAST)
    await h.store.set_status(added.id, status)  # an operator, while the request ran
    await h.pool.finish(account, lease)
    assert (await h.get(added)).status is status


async def test_abandoned_gives_the_slot_back_and_learns_nothing(h: Harness) -> None:
    added = await h.add("token-a-000000")
    await h.store.record(added.id, Feedback(health_factor=0.5))
    account, lease = await h.pool.lease(FAST)
    await h.pool.finish(account, lease, abandoned=True)
    stored = await h.get(added)
    assert stored.inflight == 0
    assert (stored.health, stored.use_count, stored.fail_count) == (0.5, 0, 0)
    assert stored.last_error is None
    assert stored.quotas["fast"].remaining == 29


async def test_abandoned_wins_over_an_error(h: Harness) -> None:
    added = await h.add("token-a-000000")
    account, lease = await h.pool.lease(FAST)
    await h.pool.finish(account, lease, failure(Verdict.BLOCKED), abandoned=True)
    stored = await h.get(added)
    assert (stored.status, stored.health, stored.fail_count) == (Status.ACTIVE, 1.0, 0)


# --- failure per verdict -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "status", "health", "fails", "spent_for"),
    [
        (Verdict.EXPIRED, Status.EXPIRED, 0.55, 1, None),
        (Verdict.BLOCKED, Status.DISABLED, 0.25, 1, None),
        (Verdict.RATE_LIMITED, Status.ACTIVE, 0.45, 1, 60.0),  # Retry-After
        (Verdict.UNAVAILABLE, Status.ACTIVE, 0.75, 1, None),
        (Verdict.CHALLENGED, Status.ACTIVE, 1.0, 0, None),
        (Verdict.MODE_UNAVAILABLE, Status.ACTIVE, 1.0, 1, 900.0),  # the pool's cooldown
    ],
)
async def test_failure_per_verdict(
    h: Harness,
    verdict: Verdict,
    status: Status,
    health: float,
    fails: int,
    spent_for: float | None,
) -> None:
    await h.add("token-a-000000")
    stored = await h.use(error=failure(verdict, "upstream said no", retry_after=60))
    assert stored.status is status
    assert stored.health == pytest.approx(health)
    assert stored.fail_count == fails
    assert stored.inflight == 0
    assert stored.cooldown_until == 0.0  # windows wait, not the whole account
    if verdict is Verdict.CHALLENGED:  # the request's fault, not the account's
        assert stored.last_error is None
    else:
        assert stored.last_error == f"{verdict.value}: upstream said no"
    quota = stored.quotas["fast"]
    if spent_for is None:
        assert quota.remaining == 29
    else:
        assert quota.remaining == 0
        assert quota.reset_at == pytest.approx(h.clock.now + spent_for)
        assert quota.source is QuotaSource.ESTIMATED


async def test_challenge_leaves_a_cooling_account_cooling(h: Harness) -> None:
    account = await h.add("token-a-000000")
    await h.store.set_status(account.id, Status.COOLING)
    stored = await h.use(error=failure(Verdict.CHALLENGED))
    assert (stored.status, stored.health, stored.cooldown_until) == (Status.COOLING, 1.0, 0.0)


async def test_rate_limit_without_retry_after_uses_the_pool_cooldown(h: Harness) -> None:
    await h.add("token-a-000000")
    stored = await h.use(error=failure(Verdict.RATE_LIMITED, retry_after=None))
    assert stored.quotas["fast"].reset_at == pytest.approx(h.clock.now + 900.0)


@pytest.mark.parametrize(
    ("verdict", "accepted", "remaining"),
    [
        (Verdict.UNAVAILABLE, False, 30),  # never reached grok: the query comes back
        (Verdict.UNAVAILABLE, True, 29),
        (Verdict.EXPIRED, False, 30),
        (Verdict.BLOCKED, False, 30),
        (Verdict.CHALLENGED, False, 30),
        (Verdict.CHALLENGED, True, 29),
        (Verdict.RATE_LIMITED, False, 0),  # the window is spent whatever happened
        (Verdict.MODE_UNAVAILABLE, False, 0),
    ],
)
async def test_the_query_is_refunded_only_when_grok_never_accepted(
    h: Harness, verdict: Verdict, accepted: bool, remaining: int
) -> None:
    await h.add("token-a-000000")
    stored = await h.use(error=failure(verdict), accepted=accepted)
    assert stored.quotas["fast"].remaining == remaining


async def test_a_refund_does_not_reopen_a_window_a_429_spent(h: Harness) -> None:
    """A 429 zeroes the window until its reset (docs/grok-protocol.md §8.4); a
    refund landing afterwards for another
    request on the same window must not make it usable again before then."""
    added = await h.add("token-a-000000")
    first, lease1 = await h.pool.lease(FAST)
    second, lease2 = await h.pool.lease(FAST)
    await h.pool.finish(first, lease1, failure(Verdict.RATE_LIMITED, retry_after=600.0))
    # the other request died before grok.com took it: its reserved query comes back...
    await h.pool.finish(second, lease2, failure(Verdict.UNAVAILABLE), accepted=False)
    # ...but grok.com said the window is spent until the reset
    assert (await h.get(added)).quotas["fast"].remaining == 0
    with pytest.raises(RateLimitError):
        await h.pool.lease(FAST)


# --- last_error and health ---------------------------------------------------------------


async def test_last_error_never_contains_a_registered_secret(h: Harness) -> None:
    secret = "sso-secret-value-4f9a2c7e1b"
    register_secret(secret)
    await h.add("token-a-000000")
    error = failure(Verdict.UNAVAILABLE, f"request with cookie {secret} failed")
    last_error = (await h.use(error=error)).last_error
    assert last_error is not None
    assert secret not in last_error
    assert mask(secret) in last_error
    assert last_error.startswith("unavailable: request with cookie ")


async def test_last_error_masks_cookie_shaped_values(h: Harness) -> None:
    await h.add("token-a-000000")
    error = failure(Verdict.EXPIRED, "rejected sso=unregistered-cookie-value; path=/")
    last_error = (await h.use(error=error)).last_error
    assert last_error is not None
    assert "unregistered-cookie-value" not in last_error


async def test_health_never_drops_below_the_floor(h: Harness) -> None:
    await h.add("token-a-000000")
    for _ in range(12):  # 0.75 ** 12 < 0.05
        stored = await h.use(error=failure(Verdict.UNAVAILABLE))
    assert stored.health == pytest.approx(0.05)
    assert stored.status is Status.ACTIVE


# --- store failures and quota sync -------------------------------------------------------


async def test_finish_survives_a_store_error(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    added = await h.add("token-a-000000")
    account, lease = await h.pool.lease(FAST)

    async def broken(*args: Any, **kwargs: Any) -> Account | None:
        raise StoreUnavailableError("the table is unreachable")

    monkeypatch.setattr(h.store, "release", broken)
    await h.pool.finish(account, lease)
    await h.pool.finish(account, lease, failure(Verdict.BLOCKED))
    monkeypatch.undo()
    stored = await h.get(added)
    assert stored.inflight == 1  # the lease expires on its own
    assert stored.status is Status.ACTIVE


async def test_finish_asks_the_quota_sync_for_fresh_numbers(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteAccountStore(tmp_path / "quota.db", clock=clock)
    quota = FakeQuota()
    pool = AccountPool(store, quota=quota, clock=clock)  # type: ignore[arg-type]
    try:
        added, _ = await store.add_account("token-a-000000", Tier.SUPER)
        for error in (
            None,
            failure(Verdict.UNAVAILABLE),
            failure(Verdict.RATE_LIMITED, retry_after=60.0),
            failure(Verdict.MODE_UNAVAILABLE),
        ):
            account, lease = await pool.lease(AUTO)
            await pool.finish(account, lease, error)
        assert quota.after_use == [(added.id, "auto")]
        assert quota.refreshes == [added.id, added.id]
    finally:
        await pool.aclose()
        await store.close()
