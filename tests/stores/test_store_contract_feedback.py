"""The AccountStore contract for feedback, quotas and tiers, on every backend."""

from __future__ import annotations

import pytest

from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import COMPUTER_USE, ModeQuota, QuotaSource, Status, Tier
from tests.stores.store_support import TOKEN, fetch
from tests.support import FakeClock

# --- record(Feedback) ----------------------------------------------------------------------


async def test_record_multiplies_health(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(health_factor=0.5))
    await store.record(account.id, Feedback(health_factor=0.5))
    assert (await fetch(store, account.id)).health == pytest.approx(0.25)


async def test_record_health_floor(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(health_factor=0.01))
    assert (await fetch(store, account.id)).health == pytest.approx(0.05)


async def test_record_health_bonus_is_capped(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(health_factor=0.5))
    await store.record(account.id, Feedback(success=True, health_bonus=0.12))
    assert (await fetch(store, account.id)).health == pytest.approx(0.62)
    await store.record(account.id, Feedback(success=True, health_bonus=5.0))
    assert (await fetch(store, account.id)).health == pytest.approx(1.0)


async def test_record_sets_status_cooldown_and_error(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    until = clock.now + 300
    feedback = Feedback(status=Status.COOLING, cooldown_until=until, error="rate_limited: 429")
    after = await store.record(account.id, feedback)
    fresh = await fetch(store, account.id)
    assert after == fresh
    assert fresh.status is Status.COOLING
    assert fresh.cooldown_until == until
    assert fresh.last_error == "rate_limited: 429"
    assert fresh.fail_count == 1


async def test_record_keeps_fields_it_does_not_name(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    until = clock.now + 300
    await store.record(
        account.id, Feedback(status=Status.COOLING, cooldown_until=until, error="first")
    )
    await store.record(account.id, Feedback(health_factor=0.9))
    fresh = await fetch(store, account.id)
    assert (fresh.status, fresh.cooldown_until, fresh.last_error) == (
        Status.COOLING,
        until,
        "first",
    )
    assert fresh.fail_count == 1  # a change without an error is not a failure
    assert fresh.quotas == account.quotas


async def test_record_truncates_the_error_to_500_chars(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(error="e" * 499 + "END" + "x" * 1000))
    assert (await fetch(store, account.id)).last_error == "e" * 499 + "E"


async def test_record_success_counts_use_and_resets_failures(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    for _ in range(3):
        await store.record(account.id, Feedback(error="boom"))
    assert (await fetch(store, account.id)).fail_count == 3
    await store.record(account.id, Feedback(success=True))
    fresh = await fetch(store, account.id)
    assert (fresh.fail_count, fresh.use_count) == (0, 1)


async def test_record_on_a_missing_account_does_not_create_it(store: AccountStore) -> None:
    assert await store.record("acct_000000000000", Feedback(error="x", health_factor=0.5)) is None
    assert await store.list_accounts() == []


def test_feedback_counts_as_failure_only_with_an_error() -> None:
    assert Feedback(error="x").counts_as_failure
    assert not Feedback().counts_as_failure
    assert not Feedback(success=True, error="x").counts_as_failure


async def test_enabling_restores_the_account(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(
        account.id,
        Feedback(
            status=Status.EXPIRED, health_factor=0.1, error="401", cooldown_until=clock.now + 9
        ),
    )
    assert await store.set_status(account.id, Status.ACTIVE)
    fresh = await fetch(store, account.id)
    assert (fresh.status, fresh.health, fresh.fail_count) == (Status.ACTIVE, 1.0, 0)
    assert (fresh.cooldown_until, fresh.last_error) == (0.0, None)


# --- quotas --------------------------------------------------------------------------------


async def test_new_accounts_get_their_tiers_default_quotas(
    store: AccountStore, clock: FakeClock
) -> None:
    basic, _ = await store.add_account(TOKEN, Tier.BASIC)
    assert set(basic.quotas) == {"fast"}
    fast = basic.quotas["fast"]
    assert (fast.remaining, fast.total, fast.window, fast.source) == (30, 30, 86400, "default")
    heavy, _ = await store.add_account("heavy-token", Tier.HEAVY)
    assert {m: q.total for m, q in heavy.quotas.items()} == {
        "auto": 150,
        "fast": 400,
        "expert": 150,
        "heavy": 20,
        COMPUTER_USE: 150,
    }
    assert heavy.quotas["auto"].reset_at == clock.now + 7200


async def test_quota_never_goes_below_zero(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=50)
    await store.sync_quotas(
        account.id, {"fast": ModeQuota(remaining=2, total=30, window=60, reset_at=9e9)}
    )
    got = [(await store.acquire(account.id, "fast")).lease for _ in range(5)]
    assert [g is not None for g in got] == [True, True, False, False, False]
    assert (await fetch(store, account.id)).quotas["fast"].remaining == 0


async def test_auto_falls_back_to_fast_then_expert(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, Tier.SUPER)
    spent = {
        "auto": ModeQuota(remaining=0, total=50, window=7200, reset_at=9e9),
        "fast": ModeQuota(remaining=1, total=140, window=7200, reset_at=9e9),
    }
    await store.sync_quotas(account.id, spent)
    first = await store.acquire(account.id, "auto")
    second = await store.acquire(account.id, "auto")
    assert first.lease is not None and first.lease.mode == "fast"
    assert second.lease is not None and second.lease.mode == "expert"
    assert second.account is not None and second.account.quotas["expert"].remaining == 49


async def test_sync_quotas_updates_modes_or_replaces_all(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN, Tier.SUPER)
    real = ModeQuota(remaining=7, total=50, window=7200, source=QuotaSource.UPSTREAM)
    after = await store.sync_quotas(account.id, {"auto": real})
    assert after is not None
    assert after.quotas["auto"] == real and after.quotas["fast"].remaining == 140
    assert after.synced_at == 0.0  # a partial sync is not a refresh
    clock.now += 5
    heavy = {"heavy": ModeQuota(remaining=20, total=20, window=7200)}
    after = await store.sync_quotas(account.id, heavy, tier=Tier.HEAVY, full=True)
    assert after is not None
    assert (after.tier, set(after.quotas), after.synced_at) == (Tier.HEAVY, {"heavy"}, clock.now)


async def test_set_tier_resets_quotas_to_the_new_defaults(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, Tier.BASIC)
    after = await store.set_tier(account.id, Tier.SUPER)
    assert after is not None and after.tier is Tier.SUPER
    assert set(after.quotas) == {"auto", "fast", "expert", COMPUTER_USE}
    assert await store.set_tier("acct_000000000000", Tier.SUPER) is None


async def test_a_429_for_a_window_a_sync_removed_still_releases(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, Tier.SUPER)
    got = await store.acquire(account.id, "expert")
    assert got.lease is not None
    await store.set_tier(account.id, Tier.BASIC)  # expert is gone
    after = await store.release(got.lease, Feedback(quota_exhausted_until=1.0, error="429"))
    assert after is not None and after.inflight == 0 and "expert" not in after.quotas
    assert after.fail_count == 1
