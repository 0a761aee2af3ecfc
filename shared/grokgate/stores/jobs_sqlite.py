"""Jobs in SQLite (WAL), the default for local runs; the account store's file is fine.

Table ``video_jobs``: the id, the columns lists and idempotency need (owner, created_at, and
``idem`` = the JSON pair [owner, key], UNIQUE) and the record as JSON in ``doc``. Every write
runs inside ``BEGIN IMMEDIATE`` (SQLite's write lock), so a create that looks up a key and
inserts, or an update that checks the status and writes, cannot interleave with another
connection's. Statements are executed and fetched in one call (see :mod:`.sqlite`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from grokgate.errors import ConflictError
from grokgate.stores.jobs import Job, JobPage, JobStatus, JobStore, apply_changes, job_doc
from grokgate.stores.sqlite_open import SqliteFile, unavailable

__all__ = ["SqliteJobStore"]

_T = TypeVar("_T")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS video_jobs (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created_at REAL NOT NULL,
        idem TEXT UNIQUE,
        doc TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS video_jobs_owner_created ON video_jobs (owner, created_at, id)",
)


def _idem(owner: str, key: str | None) -> str | None:
    return None if key is None else json.dumps([owner, key])


def _decode(row: sqlite3.Row) -> Job:
    return Job.model_validate(json.loads(row["doc"]))


class SqliteJobStore(JobStore):
    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
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
            raise unavailable(f"complete the job {what}", exc) from exc

    async def _transaction(self, body: Callable[[aiosqlite.Connection], Awaitable[_T]]) -> _T:
        return await self._file.transaction(body)

    # --- reads -----------------------------------------------------------------------------

    async def _load(self, job_id: str) -> Job | None:
        db = await self._guard("open", self._conn())
        rows = await self._guard(
            "read", db.execute_fetchall("SELECT doc FROM video_jobs WHERE id = ?", (job_id,))
        )
        return _decode(next(iter(rows))) if rows else None

    async def _page(
        self, owner: str, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        return await self._select(owner, cursor, limit, descending)

    async def _page_all(
        self, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        return await self._select(None, cursor, limit, descending)

    async def _select(
        self, owner: str | None, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        direction, op = ("DESC", "<") if descending else ("ASC", ">")
        where: list[str] = []
        args: list[Any] = []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if cursor is not None:
            where.append(f"(created_at, id) {op} (?, ?)")
            args.extend(cursor)
        sql = "SELECT doc FROM video_jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY created_at {direction}, id {direction} LIMIT ?"
        args.append(limit + 1)
        db = await self._guard("open", self._conn())
        rows = list(await self._guard("list", db.execute_fetchall(sql, args)))
        return [_decode(r) for r in rows[:limit]], len(rows) > limit

    # --- writes ----------------------------------------------------------------------------

    async def _insert(self, job: Job) -> tuple[Job, bool]:
        idem = _idem(job.owner, job.idempotency_key)

        async def body(db: aiosqlite.Connection) -> tuple[Job, bool]:
            if idem is not None:
                rows = await db.execute_fetchall(
                    "SELECT doc FROM video_jobs WHERE idem = ?", (idem,)
                )
                if rows:
                    return _decode(next(iter(rows))), False
            rows = await db.execute_fetchall("SELECT 1 FROM video_jobs WHERE id = ?", (job.id,))
            if rows:
                raise ConflictError(f"a job with id {job.id!r} exists already")
            await db.execute(
                "INSERT INTO video_jobs (id, owner, created_at, idem, doc) VALUES (?, ?, ?, ?, ?)",
                (job.id, job.owner, job.created_at, idem, json.dumps(job_doc(job))),
            )
            return job, True

        return await self._guard("insert", self._transaction(body))

    async def _update(
        self,
        job_id: str,
        fields: dict[str, Any],
        expected: frozenset[JobStatus] | None,
        now: float,
    ) -> Job | None:
        async def body(db: aiosqlite.Connection) -> Job | None:
            rows = await db.execute_fetchall("SELECT doc FROM video_jobs WHERE id = ?", (job_id,))
            if not rows:
                return None
            before = _decode(next(iter(rows)))
            if expected is not None and before.status not in expected:
                return None
            after = apply_changes(before, fields, now)
            await db.execute(
                "UPDATE video_jobs SET doc = ? WHERE id = ?", (json.dumps(job_doc(after)), job_id)
            )
            return after

        return await self._guard("update", self._transaction(body))

    async def _delete(self, job_id: str) -> bool:
        async def body(db: aiosqlite.Connection) -> bool:
            cur = await db.execute("DELETE FROM video_jobs WHERE id = ?", (job_id,))
            return cur.rowcount == 1

        return await self._guard("delete", self._transaction(body))

    async def _sweep(self, now: float) -> int:
        async def body(db: aiosqlite.Connection) -> int:
            cur = await db.execute(
                "DELETE FROM video_jobs WHERE json_extract(doc, '$.expires_at') <= ?", (now,)
            )
            return cur.rowcount

        return await self._guard("sweep", self._transaction(body))
