"""Stored conversations in SQLite (WAL), the default for local runs; the account store's file.

Table ``conversations``: primary key ``(kind, id)``, the metadata as columns and the packed
(zlib) body as a BLOB. Every write runs inside ``BEGIN IMMEDIATE`` on this object's connection,
so a create that checks for a live record and inserts, or an update that checks the version and
writes, cannot interleave with another connection's. Expired rows stay until :meth:`sweep`
(``grokgate serve`` runs it periodically); reads ignore them meanwhile.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiosqlite

from grokgate.errors import ConflictError
from grokgate.stores.conversations import (
    DEFAULT_MAX_BYTES,
    ConversationStore,
    RecordKind,
    StoredRecord,
)
from grokgate.stores.sqlite_open import SqliteFile, unavailable

__all__ = ["SqliteConversationStore"]

_T = TypeVar("_T")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS conversations (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        owner TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        version INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (kind, id)
    )""",
    "CREATE INDEX IF NOT EXISTS conversations_expires ON conversations (expires_at)",
)
_COLUMNS = "kind, id, owner, created_at, expires_at, version, body"


class SqliteConversationStore(ConversationStore):
    def __init__(
        self,
        path: Path | str,
        clock: Callable[[], float] = time.time,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__(clock, max_bytes)
        self._file = SqliteFile(path, _SCHEMA)
        self.path = self._file.path

    async def _conn(self) -> aiosqlite.Connection:
        return await self._file.conn()

    async def close(self) -> None:
        await self._file.close()

    async def _guard(self, what: str, op: Awaitable[_T]) -> _T:
        try:
            return await op
        except (sqlite3.Error, OSError) as exc:
            raise unavailable(f"{what} a stored conversation", exc) from exc

    async def _transaction(self, body: Callable[[aiosqlite.Connection], Awaitable[_T]]) -> _T:
        return await self._file.transaction(body)

    # --- primitives ------------------------------------------------------------------------

    async def _load(self, kind: RecordKind, record_id: str) -> tuple[StoredRecord, bytes] | None:
        db = await self._guard("open", self._conn())
        rows = await self._guard(
            "read",
            db.execute_fetchall(
                f"SELECT {_COLUMNS} FROM conversations WHERE kind = ? AND id = ?",
                (kind, record_id),
            ),
        )
        row = next(iter(rows), None)
        if row is None:
            return None
        meta = StoredRecord(
            kind=row["kind"],
            id=row["id"],
            owner=row["owner"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            version=row["version"],
        )
        return meta, bytes(row["body"])

    async def _insert(self, record: StoredRecord, data: bytes) -> None:
        now = self.clock()

        async def body(db: aiosqlite.Connection) -> None:
            rows = await db.execute_fetchall(
                "SELECT 1 FROM conversations WHERE kind = ? AND id = ? AND expires_at > ?",
                (record.kind, record.id, now),
            )
            if rows:
                raise ConflictError(f"a {record.kind} with id {record.id!r} exists already")
            await db.execute(
                f"INSERT OR REPLACE INTO conversations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.kind,
                    record.id,
                    record.owner,
                    record.created_at,
                    record.expires_at,
                    record.version,
                    data,
                ),
            )

        await self._guard("write", self._transaction(body))

    async def _replace(self, record: StoredRecord, data: bytes, expected_version: int) -> None:
        now = self.clock()

        async def body(db: aiosqlite.Connection) -> int:
            cur = await db.execute(
                "UPDATE conversations SET version = ?, expires_at = ?, body = ? "
                "WHERE kind = ? AND id = ? AND version = ? AND expires_at > ?",
                (
                    record.version,
                    record.expires_at,
                    data,
                    record.kind,
                    record.id,
                    expected_version,
                    now,
                ),
            )
            return cur.rowcount

        changed = await self._guard("update", self._transaction(body))
        if changed != 1:
            raise ConflictError(
                f"{record.kind} {record.id!r} changed or expired since it was read; read it again"
            )

    async def _remove(self, kind: RecordKind, record_id: str) -> bool:
        async def body(db: aiosqlite.Connection) -> bool:
            cur = await db.execute(
                "DELETE FROM conversations WHERE kind = ? AND id = ?", (kind, record_id)
            )
            return cur.rowcount == 1

        return await self._guard("delete", self._transaction(body))

    async def _sweep(self, now: float) -> int:
        async def body(db: aiosqlite.Connection) -> int:
            cur = await db.execute("DELETE FROM conversations WHERE expires_at <= ?", (now,))
            return cur.rowcount

        return await self._guard("sweep", self._transaction(body))
