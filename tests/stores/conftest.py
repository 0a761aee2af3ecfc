"""Fixtures of the store contract suite, shared by every backend (see store_support.BACKENDS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from grokgate.stores.base import AccountStore
from grokgate.stores.conversations import ConversationStore
from grokgate.stores.conversations_dynamodb import DynamoConversationStore
from grokgate.stores.conversations_sqlite import SqliteConversationStore
from tests.stores.conversation_support import ConvFactory, new_conversations_table
from tests.stores.store_support import BACKENDS, Clock, StoreFactory
from tests.support import CallCounter, FakeClock, aws_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(BACKENDS))
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Makes store objects (instances) over one shared storage; closes them all afterwards."""
    factory = BACKENDS[request.param](tmp_path, request)
    made: list[AccountStore] = []

    def make(clock: Clock) -> AccountStore:
        store = factory(clock)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def store(make_store: StoreFactory, clock: FakeClock) -> AccountStore:
    return make_store(clock)


# --- the conversation store ------------------------------------------------------------------


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
