"""QuotaSync.refresh over a real SQLite store: quotas, tier changes, failures."""

from __future__ import annotations

import asyncio

import pytest

from grokgate.core.accounts.quota import RefreshOutcome
from grokgate.errors import UpstreamError, Verdict
from grokgate.logs import register_secret
from grokgate.stores.records import ALL_MODES, COMPUTER_USE, Status, Tier
from tests.core.quota_support import OTHER, SUPER, T0, TOKEN, H, rl, upstream


@pytest.fixture
def h(quota_harness: H) -> H:
    return quota_harness


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
    assert outcome.error is not None and outcome.error.startswith("no (")
    assert stored.last_error is not None  # named like a lease's failure: "verdict: message"
    assert stored.last_error.startswith(f"{verdict.value}: no (")
    for text in (outcome.error, stored.last_error):
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
    assert stored.status is Status.DISABLED and stored.last_error == "blocked: banned"


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
