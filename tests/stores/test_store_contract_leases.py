"""The AccountStore contract: leases, feedback and secrecy, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import Status
from tests.stores.store_support import TOKEN, FakeClock, StoreFactory, fetch

# --- acquire / release ---------------------------------------------------------------------


async def test_acquire_takes_a_slot(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    lease = await store.acquire(account.id)
    assert lease is not None
    assert lease.account_id == account.id
    assert lease.acquired_at == clock.now
    fresh = await fetch(store, account.id)
    assert fresh.inflight == 1
    assert fresh.last_used_at == clock.now


async def test_lease_ids_are_unique(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    leases = [await store.acquire(account.id) for _ in range(5)]
    assert len({lease.id for lease in leases if lease}) == 5


async def test_acquire_a_missing_account(store: AccountStore) -> None:
    assert await store.acquire("acct_000000000000") is None


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.DISABLED])
async def test_acquire_refuses_dead_accounts(store: AccountStore, status: Status) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.set_status(account.id, status)
    assert await store.acquire(account.id) is None
    assert (await fetch(store, account.id)).inflight == 0


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.COOLING])
async def test_acquire_waits_for_the_cooldown(
    store: AccountStore, clock: FakeClock, status: Status
) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(
        account.id, Feedback(success=False, status=status, cooldown_until=clock.now + 60)
    )
    assert await store.acquire(account.id) is None
    clock.now += 59.9
    assert await store.acquire(account.id) is None
    clock.now += 0.1
    assert await store.acquire(account.id) is not None


async def test_exactly_max_inflight_leases_succeed(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=3)
    leases = [await store.acquire(account.id) for _ in range(5)]
    assert [lease is not None for lease in leases] == [True, True, True, False, False]
    assert (await fetch(store, account.id)).inflight == 3


async def test_release_frees_a_slot(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=1)
    lease = await store.acquire(account.id)
    assert lease is not None
    assert await store.acquire(account.id) is None
    await store.release(lease)
    assert (await fetch(store, account.id)).inflight == 0
    assert await store.acquire(account.id) is not None


async def test_release_never_drives_inflight_below_zero(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=2)
    lease = await store.acquire(account.id)
    assert lease is not None
    for _ in range(3):
        await store.release(lease)
    assert (await fetch(store, account.id)).inflight == 0
    got = [await store.acquire(account.id) for _ in range(3)]
    assert sum(lease is not None for lease in got) == 2


async def test_release_of_a_removed_account_is_harmless(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    lease = await store.acquire(account.id)
    assert lease is not None
    await store.remove_account(account.id)
    await store.release(lease)
    assert await store.list_accounts() == []


async def test_concurrent_acquires_respect_the_cap(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=3)
    leases = await asyncio.gather(*(store.acquire(account.id) for _ in range(50)))
    assert sum(lease is not None for lease in leases) == 3
    assert (await fetch(store, account.id)).inflight == 3


async def test_two_instances_racing_never_exceed_the_caps(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    one = make_store(clock)
    ids = [(await one.add_account(f"race-token-{i}", max_inflight=2))[0].id for i in range(4)]
    two = make_store(clock)  # a second instance: its own connection to the same storage
    instances = (one, two)
    leases = await asyncio.gather(
        *(instances[n % 2].acquire(ids[n % 4]) for n in range(40)),
    )
    won = [lease for lease in leases if lease is not None]
    assert len(won) <= 8
    accounts = await two.list_accounts()
    assert all(a.inflight <= 2 for a in accounts)
    assert sum(a.inflight for a in accounts) == len(won)
    assert len(won) == 8  # every account had more demand than slots
    for account_id in ids:
        assert sum(lease.account_id == account_id for lease in won) == 2


async def test_instances_see_each_others_writes(make_store: StoreFactory, clock: FakeClock) -> None:
    one = make_store(clock)
    two = make_store(clock)
    account, _ = await one.add_account(TOKEN)
    again, created = await two.add_account(TOKEN)
    assert created is False and again.id == account.id
    await two.set_status(account.id, Status.DISABLED)
    assert (await fetch(one, account.id)).status is Status.DISABLED


# --- record(Feedback) ----------------------------------------------------------------------


async def test_record_multiplies_health(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(success=False, health_factor=0.5))
    await store.record(account.id, Feedback(success=False, health_factor=0.5))
    assert (await fetch(store, account.id)).health == pytest.approx(0.25)


async def test_record_health_floor(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(success=False, health_factor=0.01))
    assert (await fetch(store, account.id)).health == pytest.approx(0.05)


async def test_record_health_bonus_is_capped(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(success=False, health_factor=0.5))
    await store.record(account.id, Feedback(success=True, health_bonus=0.12))
    assert (await fetch(store, account.id)).health == pytest.approx(0.62)
    await store.record(account.id, Feedback(success=True, health_bonus=5.0))
    assert (await fetch(store, account.id)).health == pytest.approx(1.0)


async def test_record_bonus_from_the_floor(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(success=False, health_factor=0.0))
    await store.record(account.id, Feedback(success=True, health_bonus=0.12))
    assert (await fetch(store, account.id)).health == pytest.approx(0.17)


async def test_record_sets_status_cooldown_and_error(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    until = clock.now + 300
    feedback = Feedback(
        success=False, status=Status.COOLING, cooldown_until=until, error="rate_limited: 429"
    )
    await store.record(account.id, feedback)
    fresh = await fetch(store, account.id)
    assert fresh.status is Status.COOLING
    assert fresh.cooldown_until == until
    assert fresh.last_error == "rate_limited: 429"
    assert fresh.fail_count == 1


async def test_record_keeps_fields_that_are_none(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    until = clock.now + 300
    await store.record(
        account.id,
        Feedback(success=False, status=Status.COOLING, cooldown_until=until, error="first"),
    )
    await store.record(account.id, Feedback(success=False, health_factor=0.9))
    fresh = await fetch(store, account.id)
    assert (fresh.status, fresh.cooldown_until, fresh.last_error) == (
        Status.COOLING,
        until,
        "first",
    )
    assert fresh.fail_count == 1  # a failure without an error does not count


async def test_record_truncates_the_error_to_500_chars(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(success=False, error="e" * 499 + "END" + "x" * 1000))
    last_error = (await fetch(store, account.id)).last_error
    assert last_error == "e" * 499 + "E"


async def test_record_success_counts_use_and_resets_failures(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    for _ in range(3):
        await store.record(account.id, Feedback(success=False, error="boom"))
    assert (await fetch(store, account.id)).fail_count == 3
    await store.record(account.id, Feedback(success=True))
    fresh = await fetch(store, account.id)
    assert (fresh.fail_count, fresh.use_count) == (0, 1)


async def test_record_on_a_missing_account_is_harmless(store: AccountStore) -> None:
    await store.record("acct_000000000000", Feedback(success=False, error="x"))
    assert await store.list_accounts() == []


def test_feedback_counts_as_failure_only_with_an_error() -> None:
    assert Feedback(success=False, error="x").counts_as_failure
    assert not Feedback(success=False).counts_as_failure
    assert not Feedback(success=True, error="x").counts_as_failure


# --- the token stays secret ----------------------------------------------------------------


async def test_account_never_renders_its_token(store: AccountStore) -> None:
    added, _ = await store.add_account(TOKEN)
    loaded = await fetch(store, added.id)
    listed = (await store.list_accounts())[0]
    for account in (added, loaded, listed):
        rendered = [
            repr(account),
            str(account),
            f"{account}",
            repr(account.token),
            str(account.token),
            account.model_dump_json(),
            repr(account.model_dump()),
        ]
        for text in rendered:
            assert TOKEN not in text
            assert TOKEN[-12:] not in text
        assert account.token.get_secret_value() == TOKEN
