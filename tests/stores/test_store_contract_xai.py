"""The AccountStore contract for xAI API keys and grok.com user ids, on every backend.

An xAI key is an account of kind ``xai_api_key``: no tier, no quota of its own, one "xai" mode
that is free until xAI answers 429, then spent until ``Retry-After``. Web accounts never serve it
and keys never serve grok.com modes.
"""

from __future__ import annotations

import pytest

from grokgate.errors import InvalidRequestError
from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import (
    ALL_MODES,
    MEDIA_MODES,
    XAI_MODE,
    AccountKind,
    Tier,
    account_id_for,
)
from tests.stores.store_support import TOKEN, fetch
from tests.support import FakeClock

KEY = "xai-contract-key-0123456789abcdef"


async def test_a_key_is_stored_with_its_kind_and_no_quota(store: AccountStore) -> None:
    account, created = await store.add_account(
        KEY, Tier.HEAVY, max_inflight=3, kind=AccountKind.XAI_API_KEY
    )
    assert created and account.id == account_id_for(KEY, AccountKind.XAI_API_KEY)
    assert account.id.startswith("xai_") and account.id != account_id_for(KEY)
    stored = await fetch(store, account.id)
    assert stored.kind is AccountKind.XAI_API_KEY
    assert stored.tier is Tier.BASIC and stored.quotas == {} and stored.max_inflight == 3
    assert stored.token.get_secret_value() == KEY
    again, created = await store.add_account(KEY, kind=AccountKind.XAI_API_KEY)
    assert not created and again.id == account.id
    web, _ = await store.add_account(TOKEN)
    assert (await fetch(store, web.id)).kind is AccountKind.GROK_WEB


async def test_a_key_serves_only_the_xai_mode(store: AccountStore) -> None:
    key, _ = await store.add_account(KEY, kind=AccountKind.XAI_API_KEY)
    web, _ = await store.add_account(TOKEN, Tier.HEAVY)
    for mode in (*ALL_MODES, *sorted(MEDIA_MODES)):
        assert (await store.acquire(key.id, mode)).lease is None
    assert (await store.acquire(web.id, XAI_MODE)).lease is None
    got = await store.acquire(key.id, XAI_MODE)
    assert got.lease is not None and got.lease.mode == XAI_MODE
    after = await store.release(got.lease, Feedback(success=True))
    assert after is not None and after.quotas == {} and after.inflight == 0


async def test_a_429_spends_the_key_until_retry_after(
    store: AccountStore, clock: FakeClock
) -> None:
    key, _ = await store.add_account(KEY, max_inflight=4, kind=AccountKind.XAI_API_KEY)
    got = await store.acquire(key.id, XAI_MODE)
    assert got.lease is not None
    await store.release(got.lease, Feedback(quota_exhausted_until=clock.now + 30, error="429"))
    spent = await fetch(store, key.id)
    assert spent.quotas[XAI_MODE].remaining == 0
    assert spent.quotas[XAI_MODE].reset_at == clock.now + 30
    assert (await store.acquire(key.id, XAI_MODE)).lease is None
    clock.advance(31)
    again = await store.acquire(key.id, XAI_MODE)
    assert again.lease is not None  # its time has passed: untracked again
    assert XAI_MODE not in (await fetch(store, key.id)).quotas


async def test_a_key_has_no_tier_to_set(store: AccountStore) -> None:
    key, _ = await store.add_account(KEY, kind=AccountKind.XAI_API_KEY)
    with pytest.raises(InvalidRequestError):
        await store.set_tier(key.id, Tier.SUPER)
    assert (await fetch(store, key.id)).quotas == {}


async def test_a_user_id_is_recorded_and_kept(store: AccountStore) -> None:
    web, _ = await store.add_account(TOKEN, Tier.SUPER)
    assert web.user_id is None
    after = await store.record(web.id, Feedback(user_id="0b7a5c1e-uuid"))
    assert after is not None and after.user_id == "0b7a5c1e-uuid"
    got = await store.acquire(web.id, "auto")
    assert got.lease is not None
    await store.release(got.lease, Feedback(success=True))  # other writes leave it alone
    stored = await fetch(store, web.id)
    assert stored.user_id == "0b7a5c1e-uuid" and stored.quotas["auto"].remaining == 49
