"""The AccountStore contract for Imagine quota groups (docs/grok-protocol.md §8.2), on every
backend.

An Imagine group is charged nothing until grok.com's numbers are known (``quota_info``) or a 429
spent it; a spent group serves again once its time has passed, untracked until the next read.
"""

from __future__ import annotations

import pytest

from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import MEDIA_MODES, ModeQuota, QuotaSource, Tier
from tests.stores.store_support import TOKEN, fetch
from tests.support import FakeClock


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize("mode", sorted(MEDIA_MODES))
async def test_every_tier_may_use_an_untracked_group_for_free(
    store: AccountStore, tier: Tier, mode: str
) -> None:
    account, _ = await store.add_account(TOKEN, tier)
    got = await store.acquire(account.id, mode)
    assert got.lease is not None and got.lease.mode == mode
    after = await fetch(store, account.id)
    assert after.inflight == 1 and mode not in after.quotas
    assert after.quotas == account.quotas  # chat windows untouched
    released = await store.release(got.lease, Feedback(refund=True))
    assert released is not None and mode not in released.quotas and released.inflight == 0


async def test_a_known_group_is_counted_down_and_refuses_when_spent(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN)
    known = ModeQuota(remaining=1, total=20, window=86400, reset_at=clock.now + 600)
    await store.sync_quotas(account.id, {"image": known})
    first = await store.acquire(account.id, "image")
    assert first.lease is not None
    assert (await fetch(store, account.id)).quotas["image"].remaining == 0
    refused = await store.acquire(account.id, "image")
    assert refused.lease is None and refused.account is not None
    assert refused.account.next_refill("image") == clock.now + 600
    clock.advance(601)  # its time has passed: it serves again, untracked until the next read
    again = await store.acquire(account.id, "image")
    assert again.lease is not None
    assert "image" not in (await fetch(store, account.id)).quotas


async def test_a_429_on_an_untracked_group_spends_it_until_retry_after(
    store: AccountStore, clock: FakeClock
) -> None:
    account, _ = await store.add_account(TOKEN)
    got = await store.acquire(account.id, "video")
    assert got.lease is not None
    until = clock.now + 120
    after = await store.release(got.lease, Feedback(quota_exhausted_until=until, error="429"))
    assert after is not None and after.inflight == 0
    spent = after.quotas["video"]
    assert (spent.remaining, spent.reset_at, spent.source) == (0, until, QuotaSource.ESTIMATED)
    assert (await store.acquire(account.id, "video")).lease is None
    assert (await store.acquire(account.id, "image")).lease is not None  # other groups serve
    clock.advance(121)
    assert (await store.acquire(account.id, "video")).lease is not None


async def test_a_refund_on_an_untracked_group_changes_nothing(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, Tier.SUPER)
    got = await store.acquire(account.id, "imageEdit")
    assert got.lease is not None
    after = await store.release(got.lease, Feedback(refund=True))
    assert after is not None and after.quotas == account.quotas and after.inflight == 0
