"""The embedded SQLite backend (WAL), the default for local runs.

Each account is one row holding its record as JSON. Every write is a read-modify-write inside
``BEGIN IMMEDIATE``, which takes SQLite's write lock: the contract's pure transitions run on the
current row while no other connection (another process, another store object) can write.

Every statement is executed and fully fetched in one call (``execute_fetchall``): a half-read
cursor would hold a read snapshot on the shared connection, and a ``BEGIN IMMEDIATE`` issued
meanwhile by another task fails at once with "database is locked" once that snapshot is stale.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

from grokgate.stores.base import DEFAULT_LEASE_SECONDS, AccountStore
from grokgate.stores.records import Account, from_doc, to_doc
from grokgate.stores.sqlite_open import SqliteFile, guard_sqlite
from grokgate.stores.transitions import Feedback, apply, extend_lease, take_slot

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pool_accounts (id TEXT PRIMARY KEY, doc TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS pool_values (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
)


class SqliteAccountStore(AccountStore):
    single_host = True  # a local file: every process using it is on this machine

    def __init__(
        self,
        path: Path | str,
        clock: Callable[[], float] = time.time,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        super().__init__(clock, lease_seconds=lease_seconds)
        self._file = SqliteFile(path, _SCHEMA)
        self.path = self._file.path

    async def _conn(self) -> aiosqlite.Connection:
        return await self._file.conn()

    async def close(self) -> None:
        await self._file.close()

    # --- reads -----------------------------------------------------------------------------

    async def _load(self, account_id: str) -> Account | None:
        db = await self._conn()
        rows = await db.execute_fetchall(
            "SELECT doc FROM pool_accounts WHERE id = ?", (account_id,)
        )
        return from_doc(json.loads(rows[0]["doc"])) if rows else None

    async def _load_all(self) -> list[Account]:
        db = await self._conn()
        rows = await db.execute_fetchall("SELECT doc FROM pool_accounts")
        return [from_doc(json.loads(r["doc"])) for r in rows]

    async def _get_value(self, key: str) -> dict[str, Any] | None:
        db = await self._conn()
        rows = await db.execute_fetchall("SELECT doc FROM pool_values WHERE key = ?", (key,))
        return json.loads(rows[0]["doc"]) if rows else None

    # --- writes ----------------------------------------------------------------------------

    async def _put_value(self, key: str, doc: dict[str, Any]) -> None:
        await self._file.write(
            "INSERT INTO pool_values (key, doc) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc",
            (key, json.dumps(doc)),
        )

    async def _insert_if_absent(self, account: Account) -> bool:
        inserted = await self._file.write(
            "INSERT OR IGNORE INTO pool_accounts (id, doc) VALUES (?, ?)",
            (account.id, json.dumps(to_doc(account))),
        )
        return inserted == 1

    async def _delete(self, account_id: str) -> bool:
        return await self._file.write("DELETE FROM pool_accounts WHERE id = ?", (account_id,)) == 1

    async def _acquire(
        self,
        account_id: str,
        mode: str,
        lease_id: str,
        expires_at: float,
        now: float,
        hint: Account | None,
    ) -> tuple[str | None, Account | None]:
        window: str | None = None

        def change(account: Account) -> Account:
            nonlocal window
            taken = take_slot(account, mode, lease_id, expires_at, now)
            if taken is None:
                return account
            window, updated = taken
            return updated

        account = await self._mutate(account_id, change)
        return window, account

    async def _extend(
        self, account_id: str, lease_id: str, expires_at: float, hint: Account | None
    ) -> tuple[bool, Account | None]:
        held = False

        def change(account: Account) -> Account:
            nonlocal held
            extended = extend_lease(account, lease_id, expires_at)
            held = extended is not None
            return extended if extended is not None else account

        account = await self._mutate(account_id, change)
        return held, account

    async def _update(
        self,
        account_id: str,
        feedback: Feedback,
        hint: Account | None,
        drop_leases: tuple[str, ...] | list[str] = (),
    ) -> Account | None:
        return await self._mutate(account_id, lambda a: apply(a, feedback, drop_leases))

    async def _mutate(
        self, account_id: str, change: Callable[[Account], Account]
    ) -> Account | None:
        """Run ``change`` on the stored account under SQLite's write lock (see
        :meth:`~grokgate.stores.sqlite_open.SqliteFile.transaction`)."""

        async def body(db: aiosqlite.Connection) -> Account | None:
            rows = await db.execute_fetchall(
                "SELECT doc FROM pool_accounts WHERE id = ?", (account_id,)
            )
            if not rows:
                return None
            before = from_doc(json.loads(rows[0]["doc"]))
            after = change(before)
            if after is not before:
                await db.execute(
                    "UPDATE pool_accounts SET doc = ? WHERE id = ?",
                    (json.dumps(to_doc(after)), account_id),
                )
            return after

        return await self._file.transaction(body)


guard_sqlite(
    SqliteAccountStore,
    (
        "_load",
        "_load_all",
        "_get_value",
        "_put_value",
        "_insert_if_absent",
        "_delete",
        "_acquire",
        "_extend",
        "_update",
    ),
)
