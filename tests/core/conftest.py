"""Fixtures shared by the core test modules: one harness per service under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.accounts.quota import QuotaSync
from grokgate.stores.sqlite import SqliteAccountStore
from tests.core import chat_support, pool_support, quota_support
from tests.support import FakeClock


@pytest.fixture
async def pool_harness(tmp_path: Path) -> AsyncIterator[pool_support.Harness]:
    """AccountPool over a counting SQLite store; ``h`` in the test_core_pool_* modules."""
    clock = FakeClock()
    store = pool_support.CountingStore(tmp_path / "pool.db", clock)
    pool = AccountPool(store, cooldown_seconds=900.0, snapshot_seconds=5.0, clock=clock)
    harness = pool_support.Harness(pool, store, clock)
    yield harness
    await pool.aclose()
    for other in harness.others:
        await other.close()
    await store.close()


@pytest.fixture
async def chat_harness(tmp_path: Path) -> AsyncIterator[chat_support.Harness]:
    """ChatService parts: a spy pool and a scripted upstream; ``h`` in test_core_chat_*."""
    clock = FakeClock()
    store = SqliteAccountStore(tmp_path / "chat.db", clock=clock)
    pool = chat_support.SpyPool(store, clock)
    yield chat_support.Harness(store, pool, chat_support.FakeUpstream(), clock)
    await pool.aclose()
    await store.close()


@pytest.fixture
async def quota_harness(tmp_path: Path) -> AsyncIterator[quota_support.H]:
    """QuotaSync over SQLite and a fake fetcher; ``h`` in the test_core_quota_* modules."""
    clock = FakeClock(quota_support.T0)
    store = SqliteAccountStore(tmp_path / "pool.db", clock=clock)
    fetcher = quota_support.FakeFetcher()
    harness = quota_support.H(store, fetcher, clock, QuotaSync(store, fetcher, clock=clock))
    yield harness
    for quota in [harness.quota, *harness.extra]:
        await quota.aclose()
    await store.close()
