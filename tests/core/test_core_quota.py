"""QuotaSync over a real SQLite store: refresh, one-mode sync, failures, background scheduling."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr

from grokgate.config import DEFAULT_USER_AGENT, DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.core.accounts.quota import QuotaSync, RefreshOutcome
from grokgate.errors import StoreUnavailableError, UpstreamError, Verdict
from grokgate.logs import register_secret
from grokgate.stores.records import (
    ALL_MODES,
    COMPUTER_USE,
    Account,
    ModeQuota,
    QuotaSource,
    Status,
    Tier,
)
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.ratelimits import RateLimits
from grokgate.upstream.grokweb.statsig import InProcessSigner
from grokgate.upstream.http import new_http_client
from tests.support import ACCOUNTS, Sim

T0 = 1_700_000_000.0
TOKEN = "sso-quota-test-0001-eyJhbGciOiJIUzI1NiJ9"
OTHER = "sso-quota-test-0002-eyJhbGciOiJIUzI1NiJ9"


def rl(remaining: int | None, total: int | None, window: float = 7200.0) -> RateLimits:
    return RateLimits(window_size_seconds=window, remaining_queries=remaining, total_queries=total)


NONE = rl(0, 0)
SUPER = {"auto": rl(41, 50), "fast": rl(120, 140), "expert": rl(50, 50), COMPUTER_USE: rl(9, 50)}
BASIC = {"fast": rl(3, 30, 86400.0)}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeFetcher:
    """Answers per mode (missing modes: total 0); ``gate`` holds every call until set."""

    def __init__(self, answers: Mapping[str, RateLimits | Exception] | None = None) -> None:
        self.answers: dict[str, RateLimits | Exception] = dict(answers or {})
        self.calls: list[tuple[str, str]] = []
        self.gate: asyncio.Event | None = None
        self.active = 0
        self.peak = 0

    async def rate_limits(self, account: Account, mode: str) -> RateLimits:
        self.calls.append((account.id, mode))
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
            answer = self.answers.get(mode, NONE)
            if isinstance(answer, Exception):
                raise answer
            return answer
        finally:
            self.active -= 1


@dataclass
class H:
    store: SqliteAccountStore
    fetcher: FakeFetcher
    clock: Clock
    quota: QuotaSync
    extra: list[QuotaSync] = field(default_factory=list)

    async def add(self, tier: Tier = Tier.BASIC, token: str = TOKEN) -> Account:
        account, _ = await self.store.add_account(token, tier)
        return account

    async def get(self, account: Account) -> Account:
        fresh = await self.store.get_account(account.id)
        assert fresh is not None
        return fresh

    def sync(self, **kw: float) -> QuotaSync:
        quota = QuotaSync(self.store, self.fetcher, clock=self.clock, **kw)  # type: ignore[arg-type]
        self.extra.append(quota)
        return quota


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[H]:
    clock = Clock()
    store = SqliteAccountStore(tmp_path / "pool.db", clock=clock)
    fetcher = FakeFetcher()
    harness = H(store, fetcher, clock, QuotaSync(store, fetcher, clock=clock))
    yield harness
    for quota in [harness.quota, *harness.extra]:
        await quota.aclose()
    await store.close()


def upstream(remaining: int, total: int, now: float, window: float = 7200.0) -> ModeQuota:
    return ModeQuota(
        remaining=remaining,
        total=total,
        window=window,
        reset_at=now + window,
        synced_at=now,
        source=QuotaSource.UPSTREAM,
    )


# --- refresh ------------------------------------------------------------------------------


async def test_refresh_sets_quotas_and_promotes_the_tier(h: H) -> None:
    account = await h.add(Tier.BASIC)
    h.fetcher.answers = dict(SUPER)
    h.clock.now = T0 + 60
    outcome = await h.quota.refresh(account)
    stored = await h.get(account)
    assert outcome == RefreshOutcome(stored, Tier.BASIC, Tier.SUPER, None)
    assert stored.tier is Tier.SUPER
    assert stored.quotas == {
        "auto": upstream(41, 50, T0 + 60),
        "fast": upstream(120, 140, T0 + 60),
        "expert": upstream(50, 50, T0 + 60),
        COMPUTER_USE: upstream(9, 50, T0 + 60),
    }
    assert stored.synced_at == T0 + 60
    assert sorted(mode for _, mode in h.fetcher.calls) == sorted(ALL_MODES)


async def test_refresh_demotes_on_conflicting_signals(h: H) -> None:
    account = await h.add(Tier.HEAVY)
    h.fetcher.answers = {"auto": rl(50, 50), "fast": rl(30, 30), "heavy": rl(20, 20)}
    outcome = await h.quota.refresh(account)
    assert (outcome.tier_before, outcome.tier_after) == (Tier.HEAVY, Tier.BASIC)
    assert (await h.get(account)).tier is Tier.BASIC


async def test_refresh_without_a_tier_signal_keeps_the_tier(h: H) -> None:
    account = await h.add(Tier.HEAVY)
    h.fetcher.answers = {"expert": rl(3, 77, 3600.0)}
    outcome = await h.quota.refresh(account)
    stored = await h.get(account)
    assert outcome.tier_after is Tier.HEAVY and stored.tier is Tier.HEAVY
    assert stored.quotas == {"expert": upstream(3, 77, T0, 3600.0)}


async def test_modes_without_data_keep_their_stored_quota(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {
        "auto": rl(None, 50),  # no remainingQueries: no data, the stored one stands
        "fast": rl(100, 140),
        "expert": rl(0, 0),  # grok says the mode is gone
        "heavy": rl(None, None),  # no data and nothing stored
        COMPUTER_USE: rl(None, 50),
    }
    await h.quota.refresh(account)
    stored = await h.get(account)
    assert stored.quotas == {
        "auto": account.quotas["auto"],
        "fast": upstream(100, 140, T0),
        COMPUTER_USE: account.quotas[COMPUTER_USE],
    }
    assert stored.tier is Tier.SUPER


async def test_a_missing_total_keeps_the_stored_total(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {**SUPER, "fast": rl(12, None)}
    await h.quota.refresh(account)
    assert (await h.get(account)).quotas["fast"] == upstream(12, 140, T0)


@pytest.mark.parametrize(
    ("verdict", "status", "health"),
    [(Verdict.EXPIRED, Status.EXPIRED, 0.55), (Verdict.BLOCKED, Status.DISABLED, 0.25)],
)
async def test_dead_or_blocked_accounts_are_marked(
    h: H, verdict: Verdict, status: Status, health: float
) -> None:
    register_secret(TOKEN)
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {
        **SUPER,
        "fast": UpstreamError(f"no ({TOKEN}) sso={OTHER}", verdict=verdict),
    }
    outcome = await h.quota.refresh(account)
    stored = await h.get(account)
    assert stored.status is status
    assert stored.health == pytest.approx(health)
    assert stored.fail_count == 1
    assert stored.quotas == account.quotas and stored.synced_at == account.synced_at
    assert outcome.account == stored and outcome.tier_after is Tier.SUPER
    for text in (outcome.error, stored.last_error):
        assert text is not None and text.startswith("no (")
        assert TOKEN not in text and OTHER not in text


async def test_a_block_outweighs_an_expiry(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {
        "auto": UpstreamError("gone", verdict=Verdict.EXPIRED),
        "fast": UpstreamError("banned", verdict=Verdict.BLOCKED),
        "expert": UpstreamError("later", verdict=Verdict.UNAVAILABLE),
    }
    await h.quota.refresh(account)
    stored = await h.get(account)
    assert stored.status is Status.DISABLED and stored.last_error == "banned"


@pytest.mark.parametrize(
    "error",
    [
        UpstreamError("down", verdict=Verdict.UNAVAILABLE),
        UpstreamError("slow down", verdict=Verdict.RATE_LIMITED),
        UpstreamError("cloudflare", verdict=Verdict.CHALLENGED),
        RuntimeError("bug"),
    ],
)
async def test_other_failures_leave_the_store_alone(h: H, error: Exception) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {**SUPER, "expert": error}
    outcome = await h.quota.refresh(account)
    assert await h.get(account) == account
    assert outcome.account == account and outcome.tier_after is Tier.SUPER
    assert outcome.error is not None and str(error) in outcome.error


async def test_no_quota_at_all_leaves_the_store_alone(h: H) -> None:
    account = await h.add(Tier.SUPER)
    outcome = await h.quota.refresh(account)  # every mode answers total 0
    assert await h.get(account) == account
    assert outcome.error is not None and outcome.account == account


async def test_fetches_are_bounded_across_calls(h: H) -> None:
    quota = h.sync(concurrency=3)
    one, two = await h.add(Tier.SUPER), await h.add(Tier.SUPER, OTHER)
    h.fetcher.answers = dict(SUPER)
    h.fetcher.gate = asyncio.Event()
    running = [asyncio.ensure_future(quota.refresh(a)) for a in (one, two)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert h.fetcher.active == 3
    h.fetcher.gate.set()
    outcomes = await asyncio.gather(*running)
    assert h.fetcher.peak == 3 and len(h.fetcher.calls) == 2 * len(ALL_MODES)
    assert all(o.error is None and o.tier_after is Tier.SUPER for o in outcomes)


# --- sync_mode ----------------------------------------------------------------------------


async def test_sync_mode_writes_only_that_mode(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {"expert": rl(7, 50)}
    h.clock.now = T0 + 5
    after = await h.quota.sync_mode(account, "expert")
    stored = await h.get(account)
    assert after == stored
    assert stored.quotas == {**account.quotas, "expert": upstream(7, 50, T0 + 5)}
    assert stored.synced_at == account.synced_at  # a one-mode read is not a full refresh
    assert h.fetcher.calls == [(account.id, "expert")]


async def test_sync_mode_without_data_changes_nothing(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {"fast": rl(None, 140)}
    assert await h.quota.sync_mode(account, "fast") == account
    assert await h.get(account) == account


async def test_sync_mode_failures(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = {"fast": UpstreamError("down")}
    assert await h.quota.sync_mode(account, "fast") == account
    assert await h.get(account) == account
    h.fetcher.answers = {"fast": UpstreamError("dead", verdict=Verdict.EXPIRED)}
    after = await h.quota.sync_mode(account, "fast")
    assert after is not None and after.status is Status.EXPIRED and after.last_error == "dead"


async def test_sync_mode_on_a_vanished_mode_schedules_a_refresh(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = dict(BASIC)
    assert await h.quota.sync_mode(account, "auto") == account
    await h.quota.drain()
    stored = await h.get(account)
    assert stored.tier is Tier.BASIC and stored.quotas == {"fast": upstream(3, 30, T0, 86400.0)}


# --- scheduling ---------------------------------------------------------------------------


async def test_schedule_after_use_only_when_stale(h: H) -> None:
    account = await h.add(Tier.SUPER)  # default quotas were never synced
    h.fetcher.answers = dict(SUPER)
    h.quota.schedule_after_use(account, "fast")
    await h.quota.drain()
    assert h.fetcher.calls == [(account.id, "fast")]
    fresh = await h.get(account)
    assert fresh.quotas["fast"] == upstream(120, 140, T0)

    h.clock.now = T0 + 119
    h.quota.schedule_after_use(fresh, "fast")
    h.quota.schedule_after_use(account, "fast")  # an old copy: we read it ourselves just now
    await h.quota.drain()
    assert len(h.fetcher.calls) == 1

    h.clock.now = T0 + 121
    h.quota.schedule_after_use(fresh, "fast")
    await h.quota.drain()
    assert len(h.fetcher.calls) == 2


async def test_schedule_after_use_dedupes_pending_reads(h: H) -> None:
    account = await h.add(Tier.SUPER)
    quota = h.sync(sync_seconds=1.0)
    h.fetcher.answers = dict(SUPER)
    h.fetcher.gate = asyncio.Event()
    quota.schedule_after_use(account, "fast")
    h.clock.now += 1000  # stale again, but the first read has not finished
    quota.schedule_after_use(account, "fast")
    quota.schedule_after_use(account, "auto")  # another mode is another read
    await asyncio.sleep(0)
    assert sorted(h.fetcher.calls) == [(account.id, "auto"), (account.id, "fast")]
    h.fetcher.gate.set()
    await quota.drain()
    assert len(h.fetcher.calls) == 2


async def test_schedule_after_use_disabled(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.sync(sync_seconds=0).schedule_after_use(account, "fast")
    await asyncio.sleep(0)
    assert h.fetcher.calls == []


async def test_background_failures_are_logged_not_raised(
    h: H, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.answers = dict(SUPER)

    async def broken(*args: object, **kwargs: object) -> None:
        raise StoreUnavailableError("the store is down")

    monkeypatch.setattr(h.store, "sync_quotas", broken)
    with caplog.at_level(logging.WARNING, logger="grokgate.quota"):
        h.quota.schedule_after_use(account, "fast")
        h.quota.schedule_refresh(account)
        await h.quota.drain()
    assert sum("the store is down" in r.getMessage() for r in caplog.records) == 2


def test_scheduling_outside_a_loop_does_not_raise(tmp_path: Path) -> None:
    store = SqliteAccountStore(tmp_path / "pool.db")
    quota = QuotaSync(store, FakeFetcher())
    account = Account(id="acct_x", token=SecretStr(TOKEN))
    quota.schedule_after_use(account, "fast")
    quota.schedule_refresh(account)


async def test_schedule_refresh_is_rate_limited(h: H) -> None:
    account = await h.add(Tier.BASIC)
    h.fetcher.answers = dict(SUPER)
    h.quota.schedule_refresh(account)
    await h.quota.drain()
    assert (await h.get(account)).tier is Tier.SUPER
    assert len(h.fetcher.calls) == len(ALL_MODES)

    h.clock.now = T0 + 200
    h.quota.schedule_refresh(account)  # refused, and does not restart the count
    h.clock.now = T0 + 299
    h.quota.schedule_refresh(account)
    await h.quota.drain()
    assert len(h.fetcher.calls) == len(ALL_MODES)

    h.clock.now = T0 + 300
    h.quota.schedule_refresh(account)
    await h.quota.drain()
    assert len(h.fetcher.calls) == 2 * len(ALL_MODES)


async def test_schedule_refresh_dedupes_per_account(h: H) -> None:
    one, two = await h.add(Tier.SUPER), await h.add(Tier.SUPER, OTHER)
    quota = h.sync(refresh_seconds=0)
    h.fetcher.answers = dict(SUPER)
    h.fetcher.gate = asyncio.Event()
    quota.schedule_refresh(one)
    quota.schedule_refresh(one)
    quota.schedule_refresh(two)
    await asyncio.sleep(0)
    h.fetcher.gate.set()
    await quota.drain()
    assert len(h.fetcher.calls) == 2 * len(ALL_MODES)


async def test_aclose_cancels_pending_reads(h: H) -> None:
    account = await h.add(Tier.SUPER)
    h.fetcher.gate = asyncio.Event()  # never set
    h.quota.schedule_after_use(account, "fast")
    h.quota.schedule_refresh(account)
    await asyncio.sleep(0)
    assert h.fetcher.active > 0
    await asyncio.wait_for(h.quota.aclose(), 2)
    assert h.fetcher.active == 0
    h.quota.schedule_refresh(account)
    h.clock.now += 10_000
    h.quota.schedule_after_use(account, "auto")
    await h.quota.drain()  # nothing left to wait for
    assert await h.get(account) == account


# --- end to end: GrokWebClient against the simulator --------------------------------------


async def test_end_to_end_against_the_simulator(sim: Sim, tmp_path: Path) -> None:
    tokens = {tier: token for tier, token in reversed(ACCOUNTS)}
    http = new_http_client(connect_timeout=5.0, idle_timeout=30.0)
    signer = InProcessSigner(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), DEMO_STATSIG_SUFFIX)
    client = GrokWebClient(
        base_url=sim.url, http=http, signer=signer, user_agent=DEFAULT_USER_AGENT
    )
    store = SqliteAccountStore(tmp_path / "e2e.db")
    quota = QuotaSync(store, client)
    try:
        wrong, _ = await store.add_account(tokens["super"], Tier.BASIC)  # really a super
        basic, _ = await store.add_account(tokens["basic"], Tier.BASIC)
        gone, _ = await store.add_account("sso-unknown-to-grok-eyJhbGciOiJIUzI1NiJ9", Tier.SUPER)
        sim.state.set_remaining(tokens["super"], "auto", 17)
        sim.state.set_remaining(tokens["basic"], "fast", 4)

        outcome = await quota.refresh(wrong)
        assert outcome.error is None and outcome.tier_after is Tier.SUPER
        stored = await store.get_account(wrong.id)
        assert stored is not None and stored.tier is Tier.SUPER
        assert set(stored.quotas) == {"auto", "fast", "expert", COMPUTER_USE}
        auto = stored.quotas["auto"]
        assert (auto.remaining, auto.total, auto.window) == (17, 50, 7200.0)
        assert auto.source is QuotaSource.UPSTREAM

        after = await quota.sync_mode(basic, "fast")
        assert after is not None and after.tier is Tier.BASIC
        fast = after.quotas["fast"]
        assert (fast.remaining, fast.total, fast.window) == (4, 30, 86400.0)
        assert fast.source is QuotaSource.UPSTREAM

        sim.state.set_remaining(tokens["super"], "expert", 2)
        quota.schedule_after_use(stored, "expert")  # the refresh just read it: fresh
        await quota.drain()
        stored = await store.get_account(wrong.id)
        assert stored is not None and stored.quotas["expert"].remaining == 50

        failed = await quota.refresh(gone)
        assert failed.account is not None and failed.account.status is Status.EXPIRED
        assert failed.error is not None and "HTTP 401" in failed.error
    finally:
        await quota.aclose()
        await store.close()
        await http.aclose()
