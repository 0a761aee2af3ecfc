"""Stored conversations in DynamoDB, shared by every function instance.

Table keys: hash ``id`` (S) = ``"<kind>#<record id>"``, range ``part`` (N). A record is one
item per part of its packed (zlib) body, at most :data:`PART_BYTES` each, so no item nears
DynamoDB's 400 KB limit:

- part 0 holds the metadata (``owner``, ``created_at``, ``expires_at``, ``version``, ``parts``)
  and the first chunk (``data``, binary); parts 1.. hold ``version`` and the next chunks;
- every item carries ``expiration`` = ``ceil(expires_at)``, the table's TTL attribute, so
  DynamoDB deletes expired records by itself (within days: reads compare ``expires_at`` with
  the clock, and :meth:`sweep` does nothing).

Costs: a read is one strongly consistent ``Query`` on the hash key (one more per further MB of
compressed body, DynamoDB's page size). A single-part write is one conditional ``PutItem``; a
multi-part write, or one that leaves parts of a longer previous version behind, is one
``TransactWriteItems`` whose condition sits on part 0 and which deletes the leftovers. A
``Query`` may see a transaction half-applied (read committed per item), so a read whose parts
disagree on ``version`` reads again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

from grokgate.errors import ConflictError, StoreUnavailableError
from grokgate.stores.conversations import (
    DEFAULT_MAX_BYTES,
    ConversationStore,
    RecordKind,
    StoredRecord,
)
from grokgate.stores.dynamo_calls import CONDITION_FAILED, DynamoCalls, Rejected, make_table
from grokgate.stores.dynamo_codec import plain, value

__all__ = [
    "PART_BYTES",
    "TTL_ATTRIBUTE",
    "DynamoConversationStore",
    "create_conversations_table",
]

KEY = "id"
PART = "part"
TTL_ATTRIBUTE = "expiration"
PART_BYTES = 350_000  # of packed body per item; the rest of an item is well under 1 KB
_CANCELLED = "TransactionCanceledException"
_TX_CONFLICT = "TransactionConflictException"
_READ_ATTEMPTS = 4
_REMEMBERED = 4096  # records whose part count this object remembers
_BATCH = 25  # BatchWriteItem's limit


def create_conversations_table(client: Any, table: str) -> None:
    """Create the table (on-demand, TTL on ``expiration``), as ``template.yaml`` does."""
    make_table(client, table, {KEY: "S", PART: "N"}, ttl_attribute=TTL_ATTRIBUTE)


def _hash(kind: str, record_id: str) -> str:
    return f"{kind}#{record_id}"


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]


def _items(record: StoredRecord, data: bytes) -> list[dict[str, Any]]:
    """The items of ``record`` (metadata) with body ``data``, part 0 first."""
    key = value(_hash(record.kind, record.id))
    common = {"version": value(record.version), TTL_ATTRIBUTE: value(math.ceil(record.expires_at))}
    chunks = _chunks(data)
    items = [
        {KEY: key, PART: value(n), **common, "data": {"B": chunk}} for n, chunk in enumerate(chunks)
    ]
    items[0].update(
        owner=value(record.owner),
        created_at=value(record.created_at),
        expires_at=value(record.expires_at),
        parts=value(len(chunks)),
    )
    return items


def _binary(attr: dict[str, Any]) -> bytes:
    raw = attr["B"]
    return bytes(raw)


class _Torn(Exception):
    """A read saw parts of two versions (a write landed meanwhile)."""


class DynamoConversationStore(ConversationStore):
    def __init__(
        self,
        table: str,
        client: Any | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__(clock, max_bytes)
        self.table = table
        self._calls = DynamoCalls(table, client, client_factory=client_factory)
        # (kind, id) -> (version, items seen): which parts an update or delete must remove
        self._seen: dict[tuple[str, str], tuple[int, int]] = {}

    @property
    def client(self) -> Any:
        return self._calls.client

    def _remember(self, kind: str, record_id: str, version: int, items: int) -> None:
        self._seen.pop((kind, record_id), None)
        if len(self._seen) >= _REMEMBERED:
            self._seen.pop(next(iter(self._seen)))
        self._seen[(kind, record_id)] = (version, items)

    # --- reads -----------------------------------------------------------------------------

    async def _query(self, kind: str, record_id: str, **extra: Any) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": KEY},
            "ExpressionAttributeValues": {":k": value(_hash(kind, record_id))},
            "ConsistentRead": True,
            **extra,
        }
        items: list[dict[str, Any]] = []
        while True:
            out = await self._calls.call("query", **kwargs)
            items.extend(out.get("Items", []))
            start = out.get("LastEvaluatedKey")
            if not start:
                return items
            kwargs["ExclusiveStartKey"] = start

    async def _load(self, kind: RecordKind, record_id: str) -> tuple[StoredRecord, bytes] | None:
        for _ in range(_READ_ATTEMPTS):
            items = await self._query(kind, record_id)
            try:
                return self._assemble(kind, record_id, items)
            except _Torn:
                await asyncio.sleep(0.01)
        raise StoreUnavailableError(
            f"DynamoDB kept changing {kind} {record_id!r} in table {self.table!r} while it was read"
        )

    def _assemble(
        self, kind: RecordKind, record_id: str, items: list[dict[str, Any]]
    ) -> tuple[StoredRecord, bytes] | None:
        by_part = {int(plain(item[PART])): item for item in items}
        head = by_part.get(0)
        if head is None or "parts" not in head:
            return None  # deleted (leftovers may linger until TTL)
        version, parts = int(plain(head["version"])), int(plain(head["parts"]))
        chunks = []
        for n in range(parts):
            item = by_part.get(n)
            if item is None or int(plain(item["version"])) != version:
                raise _Torn
            chunks.append(_binary(item["data"]))
        meta = StoredRecord(
            kind=kind,
            id=record_id,
            owner=plain(head["owner"]),
            created_at=plain(head["created_at"]),
            expires_at=plain(head["expires_at"]),
            version=version,
        )
        self._remember(kind, record_id, version, max(by_part) + 1)
        return meta, b"".join(chunks)

    # --- writes ----------------------------------------------------------------------------

    async def _insert(self, record: StoredRecord, data: bytes) -> None:
        # Parts an expired previous record left behind are expired too: TTL removes them and
        # reads ignore parts past ``parts``.
        condition = {
            "ConditionExpression": "attribute_not_exists(#k) OR #e <= :now",
            "ExpressionAttributeNames": {"#k": KEY, "#e": "expires_at"},
            "ExpressionAttributeValues": {":now": value(self.clock())},
        }
        items = _items(record, data)
        try:
            await self._write(items, [], condition)
        except Rejected as exc:
            raise ConflictError(f"a {record.kind} with id {record.id!r} exists already") from exc
        self._remember(record.kind, record.id, record.version, len(items))

    async def _replace(self, record: StoredRecord, data: bytes, expected_version: int) -> None:
        condition = {
            "ConditionExpression": "#v = :v AND #e > :now",
            "ExpressionAttributeNames": {"#v": "version", "#e": "expires_at"},
            "ExpressionAttributeValues": {
                ":v": value(expected_version),
                ":now": value(self.clock()),
            },
        }
        items = _items(record, data)
        seen = self._seen.get((record.kind, record.id))
        if seen is not None and seen[0] == expected_version:
            stale = list(range(len(items), seen[1]))
        elif len(items) > 1:  # not read here: delete whatever a record may have had
            stale = list(range(len(items), math.ceil(self.max_bytes / PART_BYTES)))
        else:
            stale = None  # a PutItem tells what it replaced
        try:
            old = await self._write(items, stale or [], condition)
        except Rejected as exc:
            raise ConflictError(
                f"{record.kind} {record.id!r} changed or expired since it was read; read it again"
            ) from exc
        if stale is None and old is not None:
            before = int(plain(old.get("parts", {"N": "1"})))
            await self._delete_parts(record.kind, record.id, range(1, before))
        self._remember(record.kind, record.id, record.version, len(items))

    async def _write(
        self, items: list[dict[str, Any]], stale: list[int], condition: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Write ``items`` (the condition on part 0) and delete parts ``stale``, atomically;
        the old part 0 when one PutItem did it. Rejected when the condition failed."""
        if len(items) == 1 and not stale:
            out = await self._calls.call(
                "put_item",
                tolerate=(CONDITION_FAILED, _TX_CONFLICT),
                TableName=self.table,
                Item=items[0],
                ReturnValues="ALL_OLD",
                **condition,
            )
            old = out.get("Attributes")
            return old if isinstance(old, dict) else None
        key = items[0][KEY]
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": items[0], **condition}}
        ]
        actions += [{"Put": {"TableName": self.table, "Item": item}} for item in items[1:]]
        actions += [
            {"Delete": {"TableName": self.table, "Key": {KEY: key, PART: value(n)}}} for n in stale
        ]
        await self._calls.call(
            "transact_write_items", tolerate=(_CANCELLED, _TX_CONFLICT), TransactItems=actions
        )
        return None

    async def _remove(self, kind: RecordKind, record_id: str) -> bool:
        seen = self._seen.pop((kind, record_id), None)
        if seen is None:
            items = await self._query(
                kind,
                record_id,
                ProjectionExpression="#k, #p",
                ExpressionAttributeNames={"#k": KEY, "#p": PART},
            )
            parts = sorted(int(plain(item[PART])) for item in items)
        else:
            parts = list(range(seen[1]))
        key = value(_hash(kind, record_id))
        if parts[:1] != [0]:
            return False
        if len(parts) == 1:
            out = await self._calls.call(
                "delete_item",
                TableName=self.table,
                Key={KEY: key, PART: value(0)},
                ReturnValues="ALL_OLD",
            )
            return bool(out.get("Attributes"))
        # all parts at once, so no read sees some of them
        await self._calls.call(
            "transact_write_items",
            TransactItems=[
                {"Delete": {"TableName": self.table, "Key": {KEY: key, PART: value(n)}}}
                for n in parts
            ],
        )
        return True

    async def _delete_parts(self, kind: str, record_id: str, parts: Any) -> None:
        key = value(_hash(kind, record_id))
        requests = [{"DeleteRequest": {"Key": {KEY: key, PART: value(n)}}} for n in parts]
        while requests:
            batch, requests = requests[:_BATCH], requests[_BATCH:]
            for attempt in range(5):
                out = await self._calls.call("batch_write_item", RequestItems={self.table: batch})
                batch = (out.get("UnprocessedItems") or {}).get(self.table) or []
                if not batch:
                    break
                await asyncio.sleep(0.05 * (attempt + 1))

    async def _sweep(self, now: float) -> int:
        return 0  # the table's TTL removes expired records
