"""``waitTimeSeconds`` of an exhausted mode (docs/grok-protocol.md §8.1): the stored window reopens
at ``now + waitTimeSeconds``, not ``now + windowSizeSeconds``; end to end with the simulator, the
pool serves that mode again exactly then (injected clock)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.accounts.quota import QuotaSync
from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.errors import RateLimitError
from grokgate.stores.records import ModeQuota, QuotaSource, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.ratelimits import RateLimits
from grokgate.upstream.grokweb.statsig import InProcessSigner
from tests.core.pool_support import FAST
from tests.core.quota_support import T0, H, rl
from tests.support import ACCOUNTS, FakeClock, Sim
from tests.upstream.browser_support import web_over

WAIT = 12600.0  # 3.5 h of a 24 h window, as grok.com answers it


@pytest.fixture
def h(quota_harness: H) -> H:
    return quota_harness


def spent(total: int, window: float, wait: float | None) -> RateLimits:
    return RateLimits(
        window_size_seconds=window, remaining_queries=0, total_queries=total, wait_time_seconds=wait
    )


# --- QuotaSync with a fake fetcher --------------------------------------------------------


async def test_an_exhausted_mode_reopens_after_wait_time_seconds(h: H) -> None:
    account = await h.add(Tier.BASIC)
    h.fetcher.answers = {"fast": spent(30, 86400.0, WAIT)}
    h.clock.now = T0 + 5
    await h.quota.sync_mode(account, "fast")
    fast = (await h.get(account)).quotas["fast"]
    assert fast == ModeQuota(
        remaining=0,
        total=30,
        window=86400.0,
        reset_at=T0 + 5 + WAIT,
        synced_at=T0 + 5,
        source=QuotaSource.UPSTREAM,
    )


async def test_a_full_refresh_reads_it_too(h: H) -> None:
    account = await h.add(Tier.BASIC)
    h.fetcher.answers = {"fast": spent(30, 86400.0, WAIT)}
    await h.quota.refresh(account)
    assert (await h.get(account)).quotas["fast"].reset_at == T0 + WAIT


@pytest.mark.parametrize(
    ("limits", "reset_in"),
    [
        (spent(30, 86400.0, None), 86400.0),  # no waitTimeSeconds: the window, as before
        (rl(4, 30, 86400.0), 86400.0),  # not exhausted: a wait means nothing
        (
            RateLimits(
                window_size_seconds=86400.0,
                remaining_queries=4,
                total_queries=30,
                wait_time_seconds=WAIT,
            ),
            86400.0,
        ),
        (spent(30, 86400.0, 0.0), 0.0),  # open again right now
        (spent(30, 86400.0, 10.0**9), 86400.0),  # never longer than the window (or a day)
        (spent(50, 7200.0, 10.0**9), 86400.0),
    ],
)
async def test_when_the_wait_counts(h: H, limits: RateLimits, reset_in: float) -> None:
    account = await h.add(Tier.BASIC)
    h.fetcher.answers = {"fast": limits}
    await h.quota.sync_mode(account, "fast")
    assert (await h.get(account)).quotas["fast"].reset_at == T0 + reset_in


async def test_the_wait_outranks_an_older_429(h: H) -> None:
    account = await h.add(Tier.BASIC)
    held = ModeQuota(remaining=0, total=30, window=86400.0, reset_at=T0 + 900.0,
                     source=QuotaSource.ESTIMATED)  # fmt: skip
    await h.store.sync_quotas(account.id, {"fast": held})
    h.fetcher.answers = {"fast": rl(30, 30, 86400.0)}  # a count alone does not lift a 429
    await h.quota.sync_mode(await h.get(account), "fast")
    assert (await h.get(account)).quotas["fast"].reset_at == T0 + 900.0
    h.fetcher.answers = {"fast": spent(30, 86400.0, WAIT)}  # grok.com's own wait does
    await h.quota.sync_mode(await h.get(account), "fast")
    fast = (await h.get(account)).quotas["fast"]
    assert fast.reset_at == T0 + WAIT and fast.source is QuotaSource.UPSTREAM


# --- end to end: the simulator's answer, QuotaSync and the pool on one injected clock --------


async def test_the_pool_serves_the_mode_again_after_the_wait(sim: Sim, tmp_path: Path) -> None:
    token = next(t for tier, t in ACCOUNTS if tier == "basic")
    sim.state.set_remaining(token, "fast", 0, reset_in=WAIT)  # grok.com: 3.5 h left
    clock = FakeClock(T0)
    store = SqliteAccountStore(tmp_path / "pool.db", clock=clock)
    http = httpx.AsyncClient(timeout=30.0)
    signer = InProcessSigner(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), DEMO_STATSIG_SUFFIX)
    quota = QuotaSync(store, GrokWebClient(web_over(http, sim.url), signer=signer), clock=clock)
    pool = AccountPool(store, cooldown_seconds=900.0, snapshot_seconds=5.0, clock=clock)
    try:
        account, _ = await store.add_account(token, Tier.BASIC)
        outcome = await quota.refresh(account)
        assert outcome.error is None and outcome.tier_after is Tier.BASIC
        fast = (await store.get_account(account.id)).quotas["fast"]  # type: ignore[union-attr]
        assert (fast.remaining, fast.total, fast.window) == (0, 30, 86400.0)
        assert fast.reset_at == T0 + WAIT  # not T0 + 86400

        with pytest.raises(RateLimitError) as info:
            await pool.lease(FAST)
        assert info.value.retry_after == pytest.approx(WAIT)
        clock.advance(WAIT - 1)
        with pytest.raises(RateLimitError) as info:  # not a second before
            await pool.lease(FAST)
        assert info.value.retry_after == pytest.approx(1.0)
        clock.advance(1)
        served, lease = await pool.lease(FAST)  # exactly then
        assert served.id == account.id and lease.mode == "fast"
        assert served.quotas["fast"].remaining == 29
        await pool.finish(served, lease, None)
    finally:
        await pool.aclose()
        await quota.aclose()
        await http.aclose()
        await store.close()
