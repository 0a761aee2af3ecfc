"""The conversation store contract: what clients expect the server to remember between requests.

Three kinds of record share one store, one owner rule and one expiry:

- ``response``: a stored OpenAI Response (``store: true``), with the whole context the model saw
  up to and including its output, so ``previous_response_id`` is one read;
- ``conversation``: an OpenAI Conversation and its items;
- ``thread``: an Anthropic Messages thread (``thread: {"type": "create" | "continue"}``).

Each record is a JSON ``body`` the API surfaces shape; the store neither reads nor checks it.
Bodies are compressed (zlib) before they reach a backend and refused above ``max_bytes``
compressed. Records are visible only to their ``owner`` (a hash of the API key that made them):
another owner, a missing id and an expired record are all ``None``, so the API answers the same
404 for each.

:class:`ConversationStore` owns the public operations and calls a few primitives each backend
implements atomically: SQLite (:mod:`grokgate.stores.conversations_sqlite`) locally, DynamoDB
(:mod:`grokgate.stores.conversations_dynamodb`) in the cloud.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from grokgate.errors import InvalidRequestError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ConversationStore",
    "RecordKind",
    "StoredRecord",
    "pack",
    "unpack",
]

RecordKind = Literal["response", "conversation", "thread"]
KINDS: tuple[str, ...] = ("response", "conversation", "thread")
DEFAULT_MAX_BYTES = 3 * 1024 * 1024  # compressed; DynamoDB transactions carry at most 4 MB
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_OWNER = re.compile(r"[\x21\x22\x24-\x7e]{0,256}")  # printable ASCII without '#' or space


class StoredRecord(BaseModel):
    """One stored record. ``version`` starts at 1 and grows by one on each update; an update
    names the version it read (optimistic concurrency)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: RecordKind
    id: str
    owner: str = ""
    created_at: float
    expires_at: float
    version: int = Field(1, ge=1)
    body: dict[str, Any] = Field(default_factory=dict)


def pack(body: dict[str, Any]) -> bytes:
    """``body`` as the compressed bytes a backend stores."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return zlib.compress(raw, 6)


def unpack(data: bytes) -> dict[str, Any]:
    value = json.loads(zlib.decompress(data))
    if not isinstance(value, dict):
        raise ValueError("a stored body is not a JSON object")
    return value


def valid_id(record_id: str) -> bool:
    return isinstance(record_id, str) and _ID.fullmatch(record_id) is not None


class Shelf(Protocol):
    """Where big payloads of a body go before it is stored, and come back from when it is
    read (:class:`grokgate.core.stored_media.MediaShelf`: the media store)."""

    async def shelve(self, body: dict[str, Any], owner: str) -> dict[str, Any]: ...

    async def unshelve(self, body: dict[str, Any]) -> dict[str, Any]: ...


class ConversationStore(ABC):
    """Public operations on stored records; backends implement the ``_`` primitives. With a
    ``shelf``, bodies are shelved on every write and unshelved on every read."""

    def __init__(
        self, clock: Callable[[], float] = time.time, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.clock = clock
        self.max_bytes = max_bytes
        self.shelf: Shelf | None = None

    async def get(self, kind: RecordKind, record_id: str, *, owner: str) -> StoredRecord | None:
        """The record, or None if it is missing, expired, or another owner's."""
        if not valid_id(record_id):
            return None
        found = await self._load(kind, record_id)
        if found is None:
            return None
        record, data = found
        if record.owner != owner or record.expires_at <= self.clock():
            return None
        body = unpack(data)
        if self.shelf is not None:
            body = await self.shelf.unshelve(body)
        return record.model_copy(update={"body": body})

    async def create(self, record: StoredRecord) -> None:
        """Insert ``record`` (its version is 1). ConflictError if the id exists and has not
        expired; an expired record under the same id is replaced."""
        self._check(record)
        data = self._packed(record.kind, await self._shelved(record.body, record.owner))
        await self._insert(record.model_copy(update={"version": 1, "body": {}}), data)

    async def update(
        self, record: StoredRecord, *, body: dict[str, Any], ttl: float
    ) -> StoredRecord:
        """Replace the body of ``record`` (as read) if nobody wrote it since: version + 1 and
        ``expires_at = now + ttl``. ConflictError if its version moved on or it is gone (the
        caller reads again and retries)."""
        self._check(record)
        after = record.model_copy(
            update={"version": record.version + 1, "expires_at": self.clock() + ttl, "body": body}
        )
        data = self._packed(record.kind, await self._shelved(body, record.owner))
        await self._replace(after.model_copy(update={"body": {}}), data, record.version)
        return after

    async def delete(self, kind: RecordKind, record_id: str, *, owner: str) -> bool:
        """Remove the record if ``owner`` owns it and it has not expired; whether it did."""
        if not valid_id(record_id):
            return False
        found = await self._load(kind, record_id)
        if found is None or found[0].owner != owner or found[0].expires_at <= self.clock():
            return False
        return await self._remove(kind, record_id)

    async def _shelved(self, body: dict[str, Any], owner: str) -> dict[str, Any]:
        return body if self.shelf is None else await self.shelf.shelve(body, owner)

    async def sweep(self) -> int:
        """Delete expired records now; how many. DynamoDB leaves this to its TTL."""
        return await self._sweep(self.clock())

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""

    def _check(self, record: StoredRecord) -> None:
        if not valid_id(record.id):
            raise InvalidRequestError("an id may only contain letters, digits, '_', '-'")
        if not _OWNER.fullmatch(record.owner):
            raise ValueError("an owner must be printable ASCII without '#'")

    def _packed(self, kind: RecordKind, body: dict[str, Any]) -> bytes:
        data = pack(body)
        if len(data) > self.max_bytes:
            raise InvalidRequestError(
                f"this {kind} is too large to store ({len(data)} bytes compressed, the "
                f"limit is {self.max_bytes}); start a new one or send the history with store "
                "set to false",
                code="conversation_too_large",
            )
        return data

    # --- primitives each backend implements atomically -----------------------------------

    @abstractmethod
    async def _load(self, kind: RecordKind, record_id: str) -> tuple[StoredRecord, bytes] | None:
        """The record's metadata (empty body) and its packed body, expired or not."""

    @abstractmethod
    async def _insert(self, record: StoredRecord, data: bytes) -> None:
        """Write a new record unless one exists that has not expired (ConflictError)."""

    @abstractmethod
    async def _replace(self, record: StoredRecord, data: bytes, expected_version: int) -> None:
        """Write ``record`` over the stored one if its version is ``expected_version``, in one
        atomic write, else ConflictError."""

    @abstractmethod
    async def _remove(self, kind: RecordKind, record_id: str) -> bool: ...

    @abstractmethod
    async def _sweep(self, now: float) -> int: ...
