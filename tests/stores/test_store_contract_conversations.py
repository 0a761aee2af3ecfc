"""The ConversationStore contract, run against SQLite and DynamoDB (moto's server over real HTTP).

Every store object a test makes through ``make_convs`` shares one storage (one file, one table)
with its own connection or client, the way two Lambda instances share the conversations table.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from grokgate.errors import ConflictError, InvalidRequestError, StoreUnavailableError
from grokgate.stores.conversations import ConversationStore, StoredRecord
from grokgate.stores.conversations_dynamodb import (
    PART_BYTES,
    DynamoConversationStore,
    create_conversations_table,
)
from grokgate.stores.conversations_sqlite import SqliteConversationStore
from grokgate.stores.open import StoreConfigError, open_conversation_store
from tests.support import CallCounter, FakeClock, aws_client

ConvFactory = Callable[[], ConversationStore]
DAY = 86400.0


def new_conversations_table(endpoint: str) -> str:
    name = f"grokgate-convs-test-{uuid.uuid4().hex[:12]}"
    create_conversations_table(aws_client("dynamodb", endpoint), name)
    return name


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "dynamodb"])
async def make_convs(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[ConvFactory]:
    made: list[ConversationStore] = []
    if request.param == "sqlite":
        path = tmp_path / "convs" / "grokgate.db"

        def factory() -> ConversationStore:
            return SqliteConversationStore(path, clock=clock)

    else:
        endpoint: str = request.getfixturevalue("moto_endpoint")
        table = new_conversations_table(endpoint)

        def factory() -> ConversationStore:
            return DynamoConversationStore(table, aws_client("dynamodb", endpoint), clock=clock)

    def make() -> ConversationStore:
        made.append(factory())
        return made[-1]

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def convs(make_convs: ConvFactory) -> ConversationStore:
    return make_convs()


@pytest.fixture
async def dynamo(
    moto_endpoint: str, clock: FakeClock
) -> AsyncIterator[tuple[DynamoConversationStore, CallCounter]]:
    table = new_conversations_table(moto_endpoint)
    client = aws_client("dynamodb", moto_endpoint)
    store = DynamoConversationStore(table, client, clock=clock)
    yield store, CallCounter(client)
    await store.close()


def record(
    clock: FakeClock,
    body: dict[str, Any] | None = None,
    *,
    kind: str = "response",
    owner: str = "owner-a",
    ttl: float = 30 * DAY,
    record_id: str | None = None,
) -> StoredRecord:
    return StoredRecord(
        kind=kind,  # type: ignore[arg-type]
        id=record_id or f"resp_{uuid.uuid4().hex}",
        owner=owner,
        created_at=clock.now,
        expires_at=clock.now + ttl,
        body=body if body is not None else {"input": [], "output": []},
    )


def incompressible(size: int) -> str:
    """``size`` characters of base64 of random bytes: zlib cannot shrink it much."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()[:size]


BODY: dict[str, Any] = {
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "héllo 🎬\n\u2028"}]}],
    "output": [{"id": "msg_1", "type": "message", "status": "completed"}],
    "numbers": {"third": 1 / 3, "sum": 0.1 + 0.2, "tiny": 1e-300, "huge": 10**30, "neg": -0.0},
    "flags": [True, False, None],
    "nested": {"a": {"b": {"c": [[], {}, ""]}}},
}


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


# --- DynamoDB: keys, parts, call counts --------------------------------------------------------


async def test_dynamodb_large_body_is_one_query_to_read(
    dynamo: tuple[DynamoConversationStore, CallCounter], clock: FakeClock
) -> None:
    store, counter = dynamo
    body = {"blob": incompressible(900_000)}  # about 680 KB compressed: two parts
    rec = record(clock, body)
    await store.create(rec)
    assert counter.calls == Counter({"TransactWriteItems": 1})
    counter.calls.clear()
    got = await store.get("response", rec.id, owner="owner-a")
    assert got is not None and got.body == body
    assert counter.calls == Counter({"Query": 1})
    items = _items(store, rec.id)
    assert len(items) == 2 and all(len(i["data"]["B"]) <= PART_BYTES for i in items)


async def test_dynamodb_small_record_costs_one_call_each(
    dynamo: tuple[DynamoConversationStore, CallCounter], clock: FakeClock
) -> None:
    store, counter = dynamo
    rec = record(clock, BODY)
    await store.create(rec)
    assert counter.calls == Counter({"PutItem": 1})
    counter.calls.clear()
    read = await store.get("response", rec.id, owner="owner-a")
    assert counter.calls == Counter({"Query": 1})
    counter.calls.clear()
    assert read is not None
    await store.update(read, body={**BODY, "more": 1}, ttl=DAY)
    assert counter.calls == Counter({"PutItem": 1})
    counter.calls.clear()
    assert await store.delete("response", rec.id, owner="owner-a")
    assert counter.calls == Counter({"Query": 1, "DeleteItem": 1})


async def test_dynamodb_items_carry_key_and_ttl(
    dynamo: tuple[DynamoConversationStore, CallCounter], clock: FakeClock
) -> None:
    store, _ = dynamo
    rec = record(clock, {"blob": incompressible(600_000)}, kind="thread", ttl=3600.5)
    await store.create(rec)
    items = _items(store, rec.id, kind="thread")
    assert [i["part"]["N"] for i in items] == ["0", "1"]
    assert all(i["id"]["S"] == f"thread#{rec.id}" for i in items)
    assert all(int(i["expiration"]["N"]) == int(clock.now + 3600.5) + 1 for i in items)


async def test_dynamodb_shrinking_a_record_removes_its_leftover_parts(
    dynamo: tuple[DynamoConversationStore, CallCounter], clock: FakeClock
) -> None:
    store, counter = dynamo
    rec = record(clock, {"blob": incompressible(1_000_000)})
    await store.create(rec)
    read = await store.get("response", rec.id, owner="owner-a")
    assert read is not None and len(_items(store, rec.id)) == 3
    counter.calls.clear()
    after = await store.update(read, body={"small": True}, ttl=DAY)
    assert counter.calls == Counter({"TransactWriteItems": 1})  # put part 0, delete 1 and 2
    assert len(_items(store, rec.id)) == 1
    after2 = await store.update(after, body={"blob": incompressible(600_000)}, ttl=DAY)
    assert len(_items(store, rec.id)) == 2
    got = await store.get("response", rec.id, owner="owner-a")
    assert got == after2


async def test_dynamodb_a_new_store_object_also_cleans_up_leftovers(
    moto_endpoint: str, clock: FakeClock
) -> None:
    """An update from an object that never read the record (another instance, a restart)."""
    table = new_conversations_table(moto_endpoint)
    first = DynamoConversationStore(table, aws_client("dynamodb", moto_endpoint), clock=clock)
    second = DynamoConversationStore(table, aws_client("dynamodb", moto_endpoint), clock=clock)
    rec = record(clock, {"blob": incompressible(1_000_000)})
    await first.create(rec)
    await second.update(rec, body={"small": True}, ttl=DAY)
    assert len(_items(first, rec.id)) == 1
    got = await first.get("response", rec.id, owner="owner-a")
    assert got is not None and got.body == {"small": True}


async def test_dynamodb_a_read_never_mixes_parts_of_two_versions(
    dynamo: tuple[DynamoConversationStore, CallCounter], clock: FakeClock
) -> None:
    """A Query may see a transaction half done: parts of another version make it read again,
    and a record that stays torn is a 503, never a spliced body."""
    store, counter = dynamo
    rec = record(clock, {"blob": incompressible(600_000)})
    await store.create(rec)
    part1 = _items(store, rec.id)[1]
    store.client.put_item(TableName=store.table, Item={**part1, "version": {"N": "7"}})
    counter.calls.clear()
    with pytest.raises(StoreUnavailableError):
        await store.get("response", rec.id, owner="owner-a")
    assert counter.calls["Query"] > 1  # it read again before giving up


def _items(store: DynamoConversationStore, record_id: str, kind: str = "response") -> list[Any]:
    out = store.client.query(
        TableName=store.table,
        KeyConditionExpression="#k = :k",
        ExpressionAttributeNames={"#k": "id"},
        ExpressionAttributeValues={":k": {"S": f"{kind}#{record_id}"}},
        ConsistentRead=True,
    )
    return list(out["Items"])


# --- errors ----------------------------------------------------------------------------------


async def test_sqlite_unwritable_is_store_unavailable(tmp_path: Path, clock: FakeClock) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    store = SqliteConversationStore(blocker / "grokgate.db", clock=clock)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.create(record(clock))
    assert caught.value.status == 503 and caught.value.code == "store_unavailable"
    assert str(blocker) not in str(caught.value)
    with pytest.raises(StoreUnavailableError):
        await store.get("response", "resp_x", owner="owner-a")
    await store.close()


async def test_dynamodb_missing_table_is_store_unavailable(
    moto_endpoint: str, clock: FakeClock
) -> None:
    store = DynamoConversationStore(
        "no-such-table", aws_client("dynamodb", moto_endpoint), clock=clock
    )
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get("response", "resp_x", owner="owner-a")
    assert caught.value.status == 503 and caught.value.code == "store_unavailable"
    with pytest.raises(StoreUnavailableError):
        await store.create(record(clock))


# --- opening ---------------------------------------------------------------------------------


def test_open_conversation_store_follows_the_settings(tmp_path: Path) -> None:
    local = open_conversation_store(SimpleNamespace(store="sqlite", db_path=tmp_path / "g.db"))
    assert isinstance(local, SqliteConversationStore) and local.path == tmp_path / "g.db"
    cloud = open_conversation_store(
        SimpleNamespace(
            store="dynamodb",
            dynamodb_conversations_table="convs",
            aws_region="us-east-1",
            aws_endpoint_url=None,
        )
    )
    assert isinstance(cloud, DynamoConversationStore) and cloud.table == "convs"
    with pytest.raises(StoreConfigError):
        open_conversation_store(SimpleNamespace(store="sqlite", vercel=True, db_path=None))
