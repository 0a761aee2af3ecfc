"""AccountPool over a real SQLite store: leases, feedback per verdict, quota windows, the
snapshot, and 429 / 503 when nothing can be leased."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grokgate.core.accounts.feedback import SUCCESS_BONUS
from grokgate.core.accounts.pool import BUSY_RETRY_AFTER, AccountPool
from grokgate.core.registry import ModelSpec, resolve
from grokgate.errors import (
    NoAccountAvailableError,
    RateLimitError,
    StoreUnavailableError,
    UpstreamError,
    Verdict,
)
from grokgate.logs import mask, register_secret
from grokgate.stores.base import Feedback
from grokgate.stores.records import Account, ModeQuota, QuotaSource, Status, Tier
from grokgate.stores.sqlite import SqliteAccountStore

FAST = resolve("grok-4.20-0309-non-reasoning")  # fast; [basic, super, heavy]
FAST_BEST = resolve("grok-4.20-fast")  # fast, prefer_best: [heavy, super, basic]
AUTO = resolve("grok-4.20-0309")  # auto; [super, heavy]
DAY = 86400.0


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingStore(SqliteAccountStore):
    """Counts scans and writes; a scan can be held at a gate or made to fail."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path, clock=clock)
        self.scans = 0
        self.writes = 0
        self.gate: asyncio.Event | None = None  # a scan waits here after reading
        self.at_gate = asyncio.Event()  # set once a scan waits at the gate
        self.scan_error: Exception | None = None

    async def list_accounts(self) -> list[Account]:
        self.scans += 1
        if self.scan_error is not None:
            raise self.scan_error
        accounts = await super().list_accounts()
        if self.gate is not None:
            self.at_gate.set()
            await self.gate.wait()
        return accounts

    async def _acquire(self, *args: Any, **kwargs: Any) -> tuple[str | None, Account | None]:
        self.writes += 1
        return await super()._acquire(*args, **kwargs)

    async def _update(self, *args: Any, **kwargs: Any) -> Account | None:
        self.writes += 1
        return await super()._update(*args, **kwargs)


class FakeQuota:
    """Records what the pool asks the quota sync to do."""

    def __init__(self) -> None:
        self.after_use: list[tuple[str, str]] = []
        self.refreshes: list[str] = []

    def schedule_after_use(self, account: Account, mode: str) -> None:
        self.after_use.append((account.id, mode))

    def schedule_refresh(self, account: Account) -> None:
        self.refreshes.append(account.id)


@dataclass
class Harness:
    pool: AccountPool
    store: CountingStore
    clock: Clock
    others: list[SqliteAccountStore] = field(default_factory=list)

    async def add(self, token: str, tier: Tier = Tier.BASIC, max_inflight: int = 8) -> Account:
        account, _ = await self.store.add_account(token, tier, max_inflight=max_inflight)
        return account

    async def pair(self, tier: Tier = Tier.BASIC, max_inflight: int = 8) -> list[Account]:
        """Two equal accounts, the one that wins a tie (smaller id) first."""
        accounts = [
            await self.add(f"token-{name}-000000", tier, max_inflight) for name in ("a", "b")
        ]
        return sorted(accounts, key=lambda a: a.id)

    async def get(self, account: Account | str) -> Account:
        account_id = account if isinstance(account, str) else account.id
        fresh = await self.store.get_account(account_id)
        assert fresh is not None
        return fresh

    async def use(
        self,
        spec: ModelSpec = FAST,
        error: UpstreamError | None = None,
        *,
        accepted: bool = True,
    ) -> Account:
        """Lease, finish with ``error`` (or success); the account as stored afterwards."""
        account, lease = await self.pool.lease(spec)
        await self.pool.finish(account, lease, error, accepted=accepted)
        return await self.get(account)

    async def set_quota(
        self, account: Account, mode: str, remaining: int, total: int, reset_in: float = DAY
    ) -> None:
        quota = ModeQuota(
            remaining=remaining, total=total, window=DAY, reset_at=self.clock.now + reset_in
        )
        await self.store.sync_quotas(account.id, {mode: quota})

    def other_store(self) -> SqliteAccountStore:
        """Another store object on the same file (another instance of the gateway)."""
        other = SqliteAccountStore(self.store.path, clock=self.clock)
        self.others.append(other)
        return other

    def view(self, account: Account) -> Account:
        return {a.id: a for a in self.pool.snapshot()}[account.id]


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = Clock()
    store = CountingStore(tmp_path / "pool.db", clock)
    pool = AccountPool(store, cooldown_seconds=900.0, snapshot_seconds=5.0, clock=clock)
    harness = Harness(pool, store, clock)
    yield harness
    await pool.aclose()
    for other in harness.others:
        await other.close()
    await store.close()


async def settle(pool: AccountPool) -> None:
    """Wait for the pool's background refresh, if one is running."""
    while (task := pool._background) is not None:
        await asyncio.gather(task, return_exceptions=True)


def failure(
    verdict: Verdict, message: str = "boom", retry_after: float | None = None
) -> UpstreamError:
    return UpstreamError(message, verdict=verdict, retry_after=retry_after)


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
    """A 429 zeroes the window until its reset (§8.5); a refund landing afterwards for another
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


# --- nothing to lease --------------------------------------------------------------------


async def test_all_busy_is_a_503_with_retry_after(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)
    with pytest.raises(NoAccountAvailableError) as info:
        await h.pool.lease(FAST)
    error = info.value
    assert error.status == 503
    assert error.retry_after == BUSY_RETRY_AFTER
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
    assert info.value.retry_after == BUSY_RETRY_AFTER
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


# --- the snapshot ------------------------------------------------------------------------


async def test_the_first_lease_loads_the_snapshot(h: Harness) -> None:
    await h.add("token-a-000000")
    assert h.store.scans == 0
    assert h.pool.snapshot() == []
    await h.pool.lease(FAST)
    assert h.store.scans == 1
    assert len(h.pool.snapshot()) == 1


async def test_leases_do_not_rescan_while_the_snapshot_is_young(h: Harness) -> None:
    await h.pair()
    for _ in range(4):
        await h.use()
        h.clock.now += 1.0  # 4 s in all, under snapshot_seconds
    assert h.store.scans == 1
    assert h.pool._background is None


async def test_a_stale_snapshot_is_refreshed_in_the_background(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.pool.lease(FAST)
    added, _ = await h.other_store().add_account("token-b-000000")
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()  # the scan cannot finish...
    await asyncio.wait_for(h.pool.lease(FAST), 5)  # ...yet the lease does not wait for it
    task = h.pool._background
    assert task is not None
    assert added.id not in {a.id for a in h.pool.snapshot()}
    h.store.gate.set()
    await task
    assert h.store.scans == 2
    assert h.pool._background is None
    assert added.id in {a.id for a in h.pool.snapshot()}


async def test_only_one_background_refresh_at_a_time(h: Harness) -> None:
    await h.pair()
    await h.pool.lease(FAST)
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()
    await h.pool.lease(FAST)
    task = h.pool._background
    await h.pool.lease(FAST)
    assert h.pool._background is task
    h.store.gate.set()
    assert task is not None
    await task
    assert h.store.scans == 2


async def test_a_failed_background_refresh_keeps_the_snapshot(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.use()
    before = h.pool.snapshot()
    h.clock.now += 5.0
    h.store.scan_error = StoreUnavailableError("the disk is gone")
    await h.pool.lease(FAST)  # served from the snapshot
    await settle(h.pool)  # the failure is logged, not raised
    assert h.store.scans == 2
    assert h.pool._background is None
    assert [a.id for a in h.pool.snapshot()] == [a.id for a in before]
    h.store.scan_error = None
    await h.pool.lease(FAST)  # the next request tries again
    await settle(h.pool)
    assert h.store.scans == 3


async def test_an_account_added_by_another_store_object_is_found(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)  # the only account is now busy
    other = h.other_store()
    added, _ = await other.add_account("token-b-000000")
    h.clock.now += 1.0
    account, _ = await h.pool.lease(FAST)  # nothing in the view: re-read once, now
    assert account.id == added.id
    assert h.store.scans == 2


async def test_an_empty_view_is_reread_at_most_once_a_second(h: Harness) -> None:
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)
    added, _ = await h.other_store().add_account("token-a-000000")
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)  # the view is brand new: trusted
    assert h.store.scans == 1
    h.clock.now += 1.0
    account, _ = await h.pool.lease(FAST)
    assert account.id == added.id
    assert h.store.scans == 2


async def test_a_lease_that_finds_nothing_rereads_only_once(h: Harness) -> None:
    await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)
    h.clock.now += 1.0
    with pytest.raises(NoAccountAvailableError):
        await h.pool.lease(FAST)
    assert h.store.scans == 2


async def test_a_removed_account_leaves_the_snapshot(h: Harness) -> None:
    gone, kept = await h.pair()
    await h.pool.refresh()
    assert await h.other_store().remove_account(gone.id)
    account, _ = await h.pool.lease(FAST)
    assert account.id == kept.id
    assert [a.id for a in h.pool.snapshot()] == [kept.id]


async def test_refresh_reclaims_expired_leases(h: Harness) -> None:
    added = await h.add("token-a-000000", max_inflight=1)
    await h.pool.lease(FAST)  # its holder dies: never finished
    h.clock.now += h.store.lease_seconds
    await h.pool.refresh()
    stored = await h.get(added)
    assert stored.leases == {}
    assert h.view(added).leases == {}
    account, _ = await h.pool.lease(FAST)
    assert account.id == added.id


async def test_refresh_leaves_live_leases_alone(h: Harness) -> None:
    added = await h.add("token-a-000000")
    _, lease = await h.pool.lease(FAST)
    h.clock.now += h.store.lease_seconds - 1
    await h.pool.refresh()
    assert set((await h.get(added)).leases) == {lease.id}


async def test_refresh_does_not_undo_a_release_written_during_the_scan(h: Harness) -> None:
    """A write's result goes back into the snapshot; a scan that read the account before that
    write must not put the older state back (here: a held lease, so a spurious 503)."""
    added = await h.add("token-a-000000", max_inflight=1)
    account, lease = await h.pool.lease(FAST)
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()
    scan = asyncio.create_task(h.pool.refresh())
    await asyncio.wait_for(h.store.at_gate.wait(), 5)  # the scan read the lease as held
    await h.pool.finish(account, lease)  # released while the scan is in flight
    h.store.gate.set()
    await scan
    assert (await h.get(added)).inflight == 0
    again, _ = await h.pool.lease(FAST)  # the account is free: no 503
    assert again.id == added.id


async def test_aclose_cancels_a_pending_refresh(h: Harness) -> None:
    await h.add("token-a-000000")
    await h.pool.lease(FAST)
    h.clock.now += 5.0
    h.store.gate = asyncio.Event()
    await h.pool.lease(FAST)
    task = h.pool._background
    assert task is not None and not task.done()
    await h.pool.aclose()
    assert task.cancelled()
    assert h.pool._background is None


async def test_aclose_without_a_refresh_is_a_no_op(h: Harness) -> None:
    await h.pool.aclose()
    assert h.pool._background is None


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
    clock = Clock()
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
