"""The ConversationStore contract, run against SQLite and DynamoDB (moto's server over real HTTP).

Every store object a test makes through ``make_convs`` shares one storage (one file, one table)
with its own connection or client, the way two Lambda instances share the conversations table.
The DynamoDB layout (parts, call counts), failures and opening: test_conversation_store_more.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from grokgate.errors import ConflictError, InvalidRequestError
from grokgate.stores.conversations import ConversationStore, StoredRecord
from grokgate.stores.conversations_dynamodb import DynamoConversationStore
from tests.stores.conversation_support import BODY, DAY, ConvFactory, incompressible, record
from tests.support import FakeClock

# --- create / get ----------------------------------------------------------------------------


async def test_create_then_get_round_trips_the_body_exactly(
    convs: ConversationStore, clock: FakeClock
) -> None:
    original = record(clock, BODY)
    await convs.create(original)
    got = await convs.get("response", original.id, owner="owner-a")
    assert got is not None
    assert got == original.model_copy(update={"version": 1})
    assert got.body == BODY
    assert repr(got.body["numbers"]) == repr(BODY["numbers"])  # floats keep every bit


async def test_another_store_object_on_the_same_storage_sees_it(
    make_convs: ConvFactory, clock: FakeClock
) -> None:
    first, second = make_convs(), make_convs()
    original = record(clock, BODY)
    await first.create(original)
    assert (await second.get("response", original.id, owner="owner-a")) is not None


async def test_kinds_are_separate(convs: ConversationStore, clock: FakeClock) -> None:
    rec = record(clock, {"kind": "thread"}, kind="thread", record_id="same_id")
    await convs.create(rec)
    await convs.create(record(clock, {"kind": "conv"}, kind="conversation", record_id="same_id"))
    thread = await convs.get("thread", "same_id", owner="owner-a")
    conv = await convs.get("conversation", "same_id", owner="owner-a")
    assert thread is not None and thread.body == {"kind": "thread"}
    assert conv is not None and conv.body == {"kind": "conv"}
    assert await convs.get("response", "same_id", owner="owner-a") is None


async def test_another_owner_sees_nothing(convs: ConversationStore, clock: FakeClock) -> None:
    rec = record(clock, BODY)
    await convs.create(rec)
    assert await convs.get("response", rec.id, owner="owner-b") is None
    assert await convs.get("response", rec.id, owner="") is None
    assert await convs.delete("response", rec.id, owner="owner-b") is False
    assert await convs.get("response", rec.id, owner="owner-a") is not None


async def test_missing_and_invalid_ids_are_none(convs: ConversationStore) -> None:
    assert await convs.get("response", "resp_missing", owner="owner-a") is None
    assert await convs.get("response", "bad#id", owner="owner-a") is None
    assert await convs.get("response", "", owner="owner-a") is None


async def test_create_twice_conflicts(convs: ConversationStore, clock: FakeClock) -> None:
    rec = record(clock)
    await convs.create(rec)
    with pytest.raises(ConflictError):
        await convs.create(rec.model_copy(update={"body": {"other": 1}}))


async def test_invalid_id_is_refused(convs: ConversationStore, clock: FakeClock) -> None:
    with pytest.raises(InvalidRequestError):
        await convs.create(record(clock, record_id="has space"))


# --- expiry ----------------------------------------------------------------------------------


async def test_an_expired_record_is_gone_and_its_id_can_be_reused(
    convs: ConversationStore, clock: FakeClock
) -> None:
    rec = record(clock, BODY, ttl=60)
    await convs.create(rec)
    clock.advance(59)
    assert await convs.get("response", rec.id, owner="owner-a") is not None
    clock.advance(1)
    assert await convs.get("response", rec.id, owner="owner-a") is None
    assert await convs.delete("response", rec.id, owner="owner-a") is False
    with pytest.raises(ConflictError):  # an update of an expired record: it is gone
        await convs.update(rec, body={"late": True}, ttl=60)
    fresh = record(clock, {"second": True}, record_id=rec.id)
    await convs.create(fresh)
    got = await convs.get("response", rec.id, owner="owner-a")
    assert got is not None and got.body == {"second": True} and got.version == 1


async def test_sweep_removes_expired_records_locally(
    make_convs: ConvFactory, clock: FakeClock
) -> None:
    convs = make_convs()
    old, young = record(clock, ttl=10), record(clock, ttl=100)
    await convs.create(old)
    await convs.create(young)
    clock.advance(50)
    removed = await convs.sweep()
    if isinstance(convs, DynamoConversationStore):
        assert removed == 0  # DynamoDB's TTL does this
    else:
        assert removed == 1
        assert await convs.sweep() == 0
    assert await convs.get("response", young.id, owner="owner-a") is not None
    assert await convs.get("response", old.id, owner="owner-a") is None


# --- update ----------------------------------------------------------------------------------


async def test_update_bumps_the_version_and_extends_the_expiry(
    convs: ConversationStore, clock: FakeClock
) -> None:
    rec = record(clock, {"turns": 1}, ttl=60)
    await convs.create(rec)
    read = await convs.get("response", rec.id, owner="owner-a")
    assert read is not None
    clock.advance(30)
    after = await convs.update(read, body={"turns": 2}, ttl=60)
    assert after.version == 2 and after.expires_at == clock.now + 60
    got = await convs.get("response", rec.id, owner="owner-a")
    assert got == after
    clock.advance(59)
    assert await convs.get("response", rec.id, owner="owner-a") is not None


async def test_update_with_a_stale_version_conflicts(
    convs: ConversationStore, clock: FakeClock
) -> None:
    rec = record(clock, {"turns": 1})
    await convs.create(rec)
    read = await convs.get("response", rec.id, owner="owner-a")
    assert read is not None
    await convs.update(read, body={"turns": 2}, ttl=DAY)
    with pytest.raises(ConflictError):
        await convs.update(read, body={"turns": "stale"}, ttl=DAY)
    got = await convs.get("response", rec.id, owner="owner-a")
    assert got is not None and got.body == {"turns": 2} and got.version == 2


async def test_update_of_a_deleted_record_conflicts(
    convs: ConversationStore, clock: FakeClock
) -> None:
    rec = record(clock)
    await convs.create(rec)
    assert await convs.delete("response", rec.id, owner="owner-a") is True
    with pytest.raises(ConflictError):
        await convs.update(rec, body={"x": 1}, ttl=DAY)


async def test_concurrent_updates_one_wins(make_convs: ConvFactory, clock: FakeClock) -> None:
    stores = [make_convs() for _ in range(4)]
    rec = record(clock, {"turns": 0})
    await stores[0].create(rec)
    reads = [await s.get("response", rec.id, owner="owner-a") for s in stores]

    async def attempt(store: ConversationStore, read: StoredRecord | None, n: int) -> Any:
        assert read is not None
        try:
            return await store.update(read, body={"writer": n}, ttl=DAY)
        except ConflictError as exc:
            return exc

    results = await asyncio.gather(
        *(attempt(s, r, n) for n, (s, r) in enumerate(zip(stores, reads, strict=True)))
    )
    winners = [r for r in results if isinstance(r, StoredRecord)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if r not in winners)
    got = await stores[0].get("response", rec.id, owner="owner-a")
    assert got == winners[0]


# --- delete ----------------------------------------------------------------------------------


async def test_delete(convs: ConversationStore, clock: FakeClock) -> None:
    rec = record(clock, BODY)
    await convs.create(rec)
    assert await convs.delete("response", rec.id, owner="owner-a") is True
    assert await convs.get("response", rec.id, owner="owner-a") is None
    assert await convs.delete("response", rec.id, owner="owner-a") is False
    await convs.create(rec)  # the id is free again


# --- size ------------------------------------------------------------------------------------


async def test_a_body_too_large_is_refused_with_a_clear_code(
    make_convs: ConvFactory, clock: FakeClock
) -> None:
    convs = make_convs()
    convs.max_bytes = 64 * 1024
    rec = record(clock, {"blob": incompressible(100 * 1024)})
    with pytest.raises(InvalidRequestError) as caught:
        await convs.create(rec)
    assert caught.value.code == "conversation_too_large"
    assert caught.value.status == 400
    assert await convs.get("response", rec.id, owner="owner-a") is None


async def test_a_large_body_round_trips(convs: ConversationStore, clock: FakeClock) -> None:
    body = {"blob": incompressible(2_000_000), "tail": BODY}  # DynamoDB: 5 parts, 2 pages
    rec = record(clock, body)
    await convs.create(rec)
    got = await convs.get("response", rec.id, owner="owner-a")
    assert got is not None and got.body == body
