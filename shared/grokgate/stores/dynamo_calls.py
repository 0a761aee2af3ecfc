"""The boto3 DynamoDB client plumbing every DynamoDB store shares.

The client is injected (tests: moto's server) or built lazily on first use; each call runs in
a worker thread. A refused condition (or another tolerated error code) raises
:class:`Rejected` with the service's answer; anything else is a
:func:`~grokgate.stores.failures.unavailable` (the client sees the operation, the log the
table).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from grokgate.stores.failures import unavailable

CONDITION_FAILED = "ConditionalCheckFailedException"


class Rejected(Exception):
    """A tolerated error code; ``response`` is the service's answer (``Item`` holds ALL_OLD)."""

    def __init__(self, code: str, response: dict[str, Any]) -> None:
        super().__init__(code)
        self.code = code
        self.response = response

    @property
    def item(self) -> dict[str, Any] | None:
        item = self.response.get("Item")
        return item if isinstance(item, dict) else None


class DynamoCalls:
    """A table name plus a lazily built client, and :meth:`call`."""

    def __init__(
        self,
        table: str,
        client: Any | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.table = table
        self._client = client
        self._client_factory = client_factory

    @property
    def client(self) -> Any:
        if self._client is None:
            if self._client_factory is None:
                import boto3

                self._client = boto3.client("dynamodb")
            else:
                self._client = self._client_factory()
        return self._client

    async def call(
        self, operation: str, *, tolerate: tuple[str, ...] = (CONDITION_FAILED,), **kwargs: Any
    ) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client
        try:
            result: dict[str, Any] = await asyncio.to_thread(getattr(client, operation), **kwargs)
            return result
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in tolerate:
                raise Rejected(code, dict(exc.response)) from exc
            detail = f"DynamoDB {operation} on table {self.table!r} failed: {code or 'error'}"
            raise unavailable(f"complete a DynamoDB {operation}", exc, detail) from exc
        except BotoCoreError as exc:
            detail = f"DynamoDB {operation} on table {self.table!r} failed: {type(exc).__name__}"
            raise unavailable(f"complete a DynamoDB {operation}", exc, detail) from exc


def make_table(
    client: Any, table: str, keys: dict[str, str], *, ttl_attribute: str | None = None
) -> None:
    """Create an on-demand table as ``template.yaml`` does in the cloud: ``keys`` maps each key
    attribute (the hash key first, then the range key) to its type (``S``, ``N``); TTL on
    ``ttl_attribute`` when given. For tests and local development."""
    names = list(keys)
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": name, "KeyType": "HASH" if i == 0 else "RANGE"}
            for i, name in enumerate(names)
        ],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": keys[n]} for n in names],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    if ttl_attribute is not None:
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
