"""The runtime's conversation store: built lazily from the settings, swept with the rest of the
local state by the periodic sweep, closed with the runtime."""

from __future__ import annotations

from pathlib import Path

from grokgate.runtime import Runtime
from grokgate.stores.conversations import StoredRecord
from grokgate.stores.conversations_dynamodb import DynamoConversationStore
from grokgate.stores.conversations_sqlite import SqliteConversationStore
from tests.conftest import gateway_settings
from tests.support import FakeClock


def _record(clock: FakeClock, ttl: float) -> StoredRecord:
    return StoredRecord(
        kind="thread",
        id=f"thread_{int(ttl)}",
        owner="",
        created_at=clock.now,
        expires_at=clock.now + ttl,
        body={"messages": []},
    )


async def test_local_store_is_lazy_shared_swept_and_closed(tmp_path: Path) -> None:
    settings = gateway_settings("http://127.0.0.1:9", tmp_path / "gw", sso_tokens="")
    runtime = Runtime(settings)
    assert not (tmp_path / "gw" / "grokgate.db").exists()  # nothing opened yet
    try:
        store = await runtime.conversation_store()
        assert isinstance(store, SqliteConversationStore)
        assert store.path == tmp_path / "gw" / "grokgate.db"
        assert await runtime.conversation_store() is store
        clock = FakeClock()
        store.clock = clock
        await store.create(_record(clock, 10))
        await store.create(_record(clock, 1000))
        clock.advance(100)
        assert await runtime.sweep() >= 1
        assert await store.get("thread", "thread_10", owner="") is None
        assert await store.sweep() == 0  # the runtime's sweep took it
        assert await store.get("thread", "thread_1000", owner="") is not None
    finally:
        await runtime.aclose()
    assert not store._file.is_open  # closed with the runtime


async def test_cloud_store_uses_the_conversations_table(tmp_path: Path) -> None:
    settings = gateway_settings(
        "http://127.0.0.1:9",
        tmp_path / "gw",
        sso_tokens="",
        store="dynamodb",
        dynamodb_conversations_table="my-convs",
        aws_region="us-east-1",
    )
    runtime = Runtime(settings)
    store = await runtime.conversation_store()
    assert isinstance(store, DynamoConversationStore) and store.table == "my-convs"
    await runtime.aclose()
