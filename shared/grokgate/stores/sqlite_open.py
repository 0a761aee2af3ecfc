"""Opening an SQLite file for a store: WAL mode and the schema, safe against a concurrent open.

Switching a new file to WAL fails at once ("database is locked", no busy wait) while another
connection switches it, so it is retried briefly; the schema is created under ``BEGIN
IMMEDIATE``, which does wait. A connection whose setup failed is closed (its thread would keep
the process alive). The account store and the job store share one file.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from grokgate.logs import get_logger
from grokgate.shield import shielded
from grokgate.stores.failures import unavailable

WAL_ATTEMPTS = 50
log = get_logger("stores.sqlite")
_C = TypeVar("_C")
_T = TypeVar("_T")


def _guarded(method: Callable[..., Awaitable[Any]], what: str) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise unavailable(what, exc) from exc

    return wrapper


def guard_sqlite(cls: _C, names: Sequence[str]) -> _C:
    """Wrap the async methods ``names`` of ``cls`` so an :class:`sqlite3.Error` (a corrupt,
    locked or unreadable file) or an OSError becomes a :class:`StoreUnavailableError` (503)."""
    for name in names:
        setattr(cls, name, _guarded(getattr(cls, name), f"complete {name.strip('_')}"))
    return cls


async def open_sqlite(path: Path, schema: Sequence[str]) -> aiosqlite.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, timeout=30, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        await db.execute("PRAGMA busy_timeout=30000")
        for attempt in range(WAL_ATTEMPTS):
            try:
                await db.execute_fetchall("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                if attempt == WAL_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.02)
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in schema:
                await db.execute(statement)
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
    except BaseException:
        await db.close()
        raise
    return db


class SqliteFile:
    """One store object's connection to its SQLite file: opened (WAL, schema) on first use;
    writes run one transaction at a time inside ``BEGIN IMMEDIATE`` (SQLite's write lock)."""

    def __init__(self, path: Path | str, schema: Sequence[str]) -> None:
        self.path = Path(path)
        self._schema = schema
        self._db: aiosqlite.Connection | None = None
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()  # one transaction at a time on this connection

    @property
    def is_open(self) -> bool:
        return self._db is not None

    async def conn(self) -> aiosqlite.Connection:
        if self._db is None:
            async with self._open_lock:
                if self._db is None:
                    self._db = await open_sqlite(self.path, self._schema)
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One writing statement (autocommit), between transactions; the rows it changed."""
        db = await self.conn()
        async with self._write_lock:
            cur = await db.execute(sql, params)
        return cur.rowcount

    async def transaction(self, body: Callable[[aiosqlite.Connection], Awaitable[_T]]) -> _T:
        """Run ``body`` inside BEGIN IMMEDIATE; commit, or roll back if it raises. A cancelled
        caller stops waiting but the transaction still ends (else the connection would keep
        SQLite's write lock for good)."""
        return await shielded(self._locked(body))

    async def _locked(self, body: Callable[[aiosqlite.Connection], Awaitable[_T]]) -> _T:
        db = await self.conn()
        async with self._write_lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                result = await body(db)
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
        return result
