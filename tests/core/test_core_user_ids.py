"""grok.com user ids: looked up once per account, stored, then read from the record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from grokgate.core.accounts.user_ids import StoredUserIds
from grokgate.errors import UpstreamError, Verdict
from grokgate.stores.records import Account
from grokgate.stores.sqlite import SqliteAccountStore


async def test_one_lookup_then_the_store_and_the_cache(tmp_path: Path) -> None:
    store = SqliteAccountStore(tmp_path / "pool.db")
    account, _ = await store.add_account("sso-user-ids-token-0123456789")
    calls: list[str] = []

    async def lookup(acct: Account) -> str:
        calls.append(acct.id)
        await asyncio.sleep(0.01)
        return "uid-1"

    ids = StoredUserIds(store, lookup)
    got = await asyncio.gather(*(ids.get(account) for _ in range(5)))
    assert got == ["uid-1"] * 5 and calls == [account.id]  # concurrent callers share one
    stored = await store.get_account(account.id)
    assert stored is not None and stored.user_id == "uid-1"
    fresh = StoredUserIds(store, lookup)  # another instance reads it from the record
    assert await fresh.get(stored) == "uid-1" and calls == [account.id]
    await store.close()


async def test_a_failed_lookup_is_the_accounts_error_and_not_cached(tmp_path: Path) -> None:
    store = SqliteAccountStore(tmp_path / "pool.db")
    account, _ = await store.add_account("sso-user-ids-token-0123456789")
    answers = [UpstreamError("expired", verdict=Verdict.EXPIRED), "uid-2"]

    async def lookup(acct: Account) -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    ids = StoredUserIds(store, lookup)
    with pytest.raises(UpstreamError) as info:
        await ids.get(account)
    assert info.value.verdict is Verdict.EXPIRED
    assert await ids.get(account) == "uid-2"
    await store.close()
