"""Backends and helpers of the store contract suite.

To add a backend, add an entry to ``BACKENDS``: a function of the test's ``tmp_path`` and pytest
``request`` that returns a factory ``make(clock) -> AccountStore``. Every store object the
factory makes must share one storage (the way two Lambda instances share one table) but have
its own connection or client.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grokgate.stores.base import AccountStore
from grokgate.stores.dynamodb import DynamoAccountStore
from grokgate.stores.records import Account
from grokgate.stores.sqlite import SqliteAccountStore
from tests.support import aws_client, new_dynamodb_table

Clock = Callable[[], float]
StoreFactory = Callable[[Clock], AccountStore]


def _sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    path = tmp_path / "contract" / "accounts.db"
    return lambda clock: SqliteAccountStore(path, clock=clock)


def _dynamodb(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    endpoint: str = request.getfixturevalue("moto_endpoint")
    table = new_dynamodb_table(endpoint)
    return lambda clock: DynamoAccountStore(table, aws_client("dynamodb", endpoint), clock=clock)


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], StoreFactory]] = {
    "sqlite": _sqlite,
    "dynamodb": _dynamodb,
}


TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbg.secret-part-0123456789"
OTHER = "eyJhbGciOiJIUzI1NiJ9.b3RoZXI.other-secret-9876543210"


async def fetch(store: AccountStore, account_id: str) -> Account:
    account = await store.get_account(account_id)
    assert account is not None
    return account
