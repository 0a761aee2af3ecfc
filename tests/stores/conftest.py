"""Fixtures of the store contract suite, shared by every backend (see store_support.BACKENDS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from grokgate.stores.base import AccountStore
from tests.stores.store_support import BACKENDS, Clock, StoreFactory
from tests.support import FakeClock


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
