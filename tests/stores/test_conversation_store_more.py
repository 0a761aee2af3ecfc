"""The conversation store beyond the shared contract: DynamoDB's keys, parts and call counts,
store failures as 503 ``store_unavailable``, and which backend the settings open."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from grokgate.config import Settings
from grokgate.errors import StoreUnavailableError
from grokgate.stores.conversations_dynamodb import PART_BYTES, DynamoConversationStore
from grokgate.stores.conversations_sqlite import SqliteConversationStore
from grokgate.stores.open import StoreConfigError, open_conversation_store
from tests.stores.conversation_support import (
    BODY,
    DAY,
    incompressible,
    new_conversations_table,
    record,
)
from tests.support import CallCounter, FakeClock, aws_client

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
    def settings(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)

    local = open_conversation_store(settings(data_dir=tmp_path))
    assert isinstance(local, SqliteConversationStore) and local.path == tmp_path / "grokgate.db"
    cloud = open_conversation_store(
        settings(store="dynamodb", dynamodb_conversations_table="convs", aws_region="us-east-1")
    )
    assert isinstance(cloud, DynamoConversationStore) and cloud.table == "convs"
    with pytest.raises(StoreConfigError):
        open_conversation_store(settings(store="sqlite", vercel=True))
