"""The store contract for egress: an account's pinned proxy, and the shared values (Cloudflare
clearances) every instance reads. Runs on SQLite and DynamoDB alike."""

from __future__ import annotations

from grokgate.stores.base import AccountStore
from grokgate.stores.records import Tier
from grokgate.stores.transitions import Feedback
from tests.stores.store_support import TOKEN, fetch


async def test_an_egress_pin_is_recorded_kept_and_moved(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN, Tier.SUPER)
    assert account.egress is None
    pinned = await store.record(account.id, Feedback(egress="127.0.0.1:3128"))
    assert pinned is not None and pinned.egress == "127.0.0.1:3128"
    got = await store.acquire(account.id, "auto")
    assert got.lease is not None
    await store.release(got.lease, Feedback(success=True))  # other writes leave it alone
    assert (await fetch(store, account.id)).egress == "127.0.0.1:3128"
    await store.record(account.id, Feedback(egress="127.0.0.1:1080"))
    assert (await fetch(store, account.id)).egress == "127.0.0.1:1080"


async def test_shared_values_round_trip_and_are_not_accounts(store: AccountStore) -> None:
    assert await store.get_value("clearance:direct") is None
    doc = {"cookies": "cf_clearance=abc", "user_agent": "UA", "obtained_at": 1.5}
    await store.put_value("clearance:direct", doc)
    assert await store.get_value("clearance:direct") == doc
    await store.put_value("clearance:direct", {**doc, "cookies": "cf_clearance=new"})
    assert (await store.get_value("clearance:direct"))["cookies"] == "cf_clearance=new"
    await store.put_value("clearance:127.0.0.1:3128", doc)
    assert await store.get_value("clearance:127.0.0.1:3128") == doc
    account, _ = await store.add_account(TOKEN, Tier.BASIC)
    assert [a.id for a in await store.list_accounts()] == [account.id]
