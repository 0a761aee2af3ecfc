"""The AccountStore contract for leases: conditions, caps, expiry, release, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import Status, Tier
from tests.stores.store_support import TOKEN, StoreFactory, fetch
from tests.support import FakeClock

# --- acquire -------------------------------------------------------------------------------


async def test_acquire_takes_a_slot_and_a_query(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    lease = got.lease
    assert (lease.account_id, lease.mode, lease.acquired_at) == (account.id, "fast", clock.now)
    assert lease.expires_at == clock.now + store.lease_seconds
    fresh = await fetch(store, account.id)
    assert got.account == fresh  # the state after the write, without another read
    assert fresh.inflight == 1 and fresh.leases == {lease.id: lease.expires_at}
    assert fresh.last_used_at == clock.now
    assert fresh.quotas["fast"].remaining == 29


async def test_lease_ids_are_unique(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    leases = [(await store.acquire(account.id, "fast")).lease for _ in range(5)]
    assert len({lease.id for lease in leases if lease}) == 5


async def test_acquire_a_missing_account(store: AccountStore) -> None:
    got = await store.acquire("acct_000000000000", "fast")
    assert got.lease is None and got.account is None


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.DISABLED])
async def test_acquire_refuses_dead_accounts_and_says_why(
    store: AccountStore, status: Status
) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.set_status(account.id, status)
    got = await store.acquire(account.id, "fast")
    assert got.lease is None
    assert got.account is not None and got.account.status is status  # why, without a read
    fresh = await fetch(store, account.id)
    assert fresh.inflight == 0 and fresh.quotas["fast"].remaining == 30


async def test_acquire_refuses_a_mode_the_tier_lacks(store: AccountStore) -> None:
    basic, _ = await store.add_account(TOKEN, Tier.BASIC)
    for mode in ("expert", "auto", "heavy"):
        assert (await store.acquire(basic.id, mode)).lease is None
    assert (await fetch(store, basic.id)).inflight == 0


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.COOLING])
async def test_acquire_waits_for_the_cooldown(
    store: AccountStore, clock: FakeClock, status: Status
) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(status=status, cooldown_until=clock.now + 60))
    assert (await store.acquire(account.id, "fast")).lease is None
    clock.now += 59.9
    assert (await store.acquire(account.id, "fast")).lease is None
    clock.now += 0.1
    assert (await store.acquire(account.id, "fast")).lease is not None


async def test_exactly_max_inflight_leases_succeed(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=3)
    got = [(await store.acquire(account.id, "fast")).lease for _ in range(5)]
    assert [lease is not None for lease in got] == [True, True, True, False, False]
    fresh = await fetch(store, account.id)
    assert fresh.inflight == 3
    assert fresh.quotas["fast"].remaining == 27  # a refused lease spends nothing


async def test_concurrent_acquires_respect_the_cap(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=3)
    got = await asyncio.gather(*(store.acquire(account.id, "fast") for _ in range(30)))
    assert sum(g.lease is not None for g in got) == 3
    assert (await fetch(store, account.id)).inflight == 3


# --- release -------------------------------------------------------------------------------


async def test_release_frees_the_slot_in_the_same_write_as_the_feedback(
    store: AccountStore,
) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=1)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    assert (await store.acquire(account.id, "fast")).lease is None
    after = await store.release(
        got.lease, Feedback(success=True, health_bonus=0.1), hint=got.account
    )
    assert after is not None
    assert (after.inflight, after.use_count, after.fail_count) == (0, 1, 0)
    assert after == await fetch(store, account.id)
    assert (await store.acquire(account.id, "fast")).lease is not None


async def test_release_is_idempotent(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=2)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    for _ in range(3):
        await store.release(got.lease)
    assert (await fetch(store, account.id)).inflight == 0
    won = [(await store.acquire(account.id, "fast")).lease for _ in range(3)]
    assert sum(lease is not None for lease in won) == 2


async def test_release_of_a_removed_account_does_not_recreate_it(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    await store.remove_account(account.id)
    assert await store.release(got.lease, Feedback(success=True, health_bonus=0.1)) is None
    assert await store.list_accounts() == []


async def test_release_with_a_refund_gives_the_query_back(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    after = await store.release(got.lease, Feedback(refund=True, error="5xx"))
    assert after is not None and after.quotas["fast"].remaining == 30
    assert after.fail_count == 1


async def test_release_after_a_429_spends_the_window_until_its_reset(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN)
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    until = clock.now + 120
    after = await store.release(
        got.lease, Feedback(quota_exhausted_until=until, health_factor=0.45, error="429")
    )
    assert after is not None
    quota = after.quotas["fast"]
    assert (quota.remaining, quota.reset_at, quota.source) == (0, until, "estimated")
    assert after.health == pytest.approx(0.45)
    assert (await store.acquire(account.id, "fast")).lease is None
    clock.now = until
    again = await store.acquire(account.id, "fast")  # the window refilled
    assert again.lease is not None
    assert again.account is not None
    refilled = again.account.quotas["fast"]
    assert refilled.remaining == 29 and refilled.reset_at == until + 86400


# --- expiry: a holder that died never keeps a slot -----------------------------------------


async def test_an_expired_lease_is_reclaimed_by_the_next_acquire(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN, max_inflight=1)
    dead = await store.acquire(account.id, "fast")  # its holder crashes: never released
    assert dead.lease is not None
    assert (await store.acquire(account.id, "fast")).lease is None
    clock.now = dead.lease.expires_at
    got = await store.acquire(account.id, "fast")
    assert got.lease is not None
    fresh = await fetch(store, account.id)
    assert list(fresh.leases) == [got.lease.id]
    await store.release(dead.lease)  # a late release of the dead lease changes nothing
    assert list((await fetch(store, account.id)).leases) == [got.lease.id]


async def test_reclaim_expired_gives_back_dead_slots(store: AccountStore, clock: FakeClock) -> None:
    a, _ = await store.add_account(TOKEN, max_inflight=4)
    for _ in range(3):
        await store.acquire(a.id, "fast")
    clock.now += store.lease_seconds - 1
    live = await store.acquire(a.id, "fast")
    clock.now += 1
    assert await store.reclaim_expired() == 3
    fresh = await fetch(store, a.id)
    assert live.lease is not None and list(fresh.leases) == [live.lease.id]
    assert await store.reclaim_expired() == 0


# --- instances -----------------------------------------------------------------------------


async def test_two_instances_racing_never_exceed_the_caps(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    one = make_store(clock)
    ids = [(await one.add_account(f"race-token-{i}", max_inflight=2))[0].id for i in range(4)]
    two = make_store(clock)  # a second instance: its own connection to the same storage
    instances = (one, two)
    got = await asyncio.gather(
        *(instances[n % 2].acquire(ids[n % 4], "fast") for n in range(40)),
    )
    won = [g.lease for g in got if g.lease is not None]
    assert len(won) == 8  # every account had more demand than slots
    accounts = await two.list_accounts()
    assert all(a.inflight == 2 for a in accounts)
    assert all(a.quotas["fast"].remaining == 28 for a in accounts)


async def test_a_stale_hint_is_corrected_from_the_refusal(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    one = make_store(clock)
    two = make_store(clock)
    account, _ = await one.add_account(TOKEN, max_inflight=1)
    stale = await two.get_account(account.id)
    taken = await one.acquire(account.id, "fast")
    assert taken.lease is not None
    got = await two.acquire(account.id, "fast", hint=stale)
    assert got.lease is None
    assert got.account is not None and got.account.inflight == 1  # what refused it


async def test_instances_see_each_others_writes(make_store: StoreFactory, clock: FakeClock) -> None:
    one = make_store(clock)
    two = make_store(clock)
    account, _ = await one.add_account(TOKEN)
    again, created = await two.add_account(TOKEN)
    assert created is False and again.id == account.id
    await two.set_status(account.id, Status.DISABLED)
    assert (await fetch(one, account.id)).status is Status.DISABLED
