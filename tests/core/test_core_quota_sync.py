"""QuotaSync one-mode reads (sync_mode) and background scheduling of reads."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from grokgate.core.accounts.quota import QuotaSync
from grokgate.errors import StoreUnavailableError, UpstreamError, Verdict
from grokgate.stores.records import ALL_MODES, Account, Status, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from tests.core.quota_support import BASIC, OTHER, SUPER, T0, TOKEN, FakeFetcher, H, rl, upstream


@pytest.fixture
def h(quota_harness: H) -> H:
    return quota_harness


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
    assert after is not None and after.status is Status.EXPIRED
    assert after.last_error == "expired: dead"


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
