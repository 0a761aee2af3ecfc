"""The embedded SQLite backend (WAL), the default for local runs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import aiosqlite
from pydantic import SecretStr

from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import Account, Status, Tier

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    tier TEXT NOT NULL,
    status TEXT NOT NULL,
    max_inflight INTEGER NOT NULL,
    inflight INTEGER NOT NULL DEFAULT 0 CHECK (inflight >= 0),
    health REAL NOT NULL DEFAULT 1.0,
    cooldown_until REAL NOT NULL DEFAULT 0,
    use_count INTEGER NOT NULL DEFAULT 0,
    fail_count INTEGER NOT NULL DEFAULT 0,
    last_used_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL
);
"""

_COLUMNS = (
    "id, token, tier, status, max_inflight, inflight, health, cooldown_until, use_count, "
    "fail_count, last_used_at, last_error, created_at"
)


def _row_to_account(row: sqlite3.Row) -> Account:
    return Account(
        id=row["id"],
        token=SecretStr(row["token"]),
        tier=Tier(row["tier"]),
        status=Status(row["status"]),
        max_inflight=row["max_inflight"],
        inflight=row["inflight"],
        health=row["health"],
        cooldown_until=row["cooldown_until"],
        use_count=row["use_count"],
        fail_count=row["fail_count"],
        last_used_at=row["last_used_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
    )


class SqliteAccountStore(AccountStore):
    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            async with self._lock:
                if self._db is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    db = await aiosqlite.connect(self.path, timeout=30, isolation_level=None)
                    db.row_factory = sqlite3.Row
                    await db.execute("PRAGMA journal_mode=WAL")
                    await db.execute("PRAGMA busy_timeout=30000")
                    await db.executescript(_SCHEMA)
                    self._db = db
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _insert_if_absent(self, account: Account) -> bool:
        db = await self._conn()
        cur = await db.execute(
            "INSERT OR IGNORE INTO accounts (id, token, tier, status, max_inflight, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                account.id,
                account.token.get_secret_value(),
                account.tier.value,
                account.status.value,
                account.max_inflight,
                account.created_at,
            ),
        )
        return cur.rowcount == 1

    async def _load(self, account_id: str) -> Account | None:
        db = await self._conn()
        async with db.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row_to_account(row) if row else None

    async def _load_all(self) -> list[Account]:
        db = await self._conn()
        async with db.execute(f"SELECT {_COLUMNS} FROM accounts") as cur:
            rows = await cur.fetchall()
        return [_row_to_account(r) for r in rows]

    async def _delete(self, account_id: str) -> bool:
        db = await self._conn()
        cur = await db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        return cur.rowcount == 1

    async def _try_acquire(self, account_id: str, now: float) -> bool:
        db = await self._conn()
        cur = await db.execute(
            "UPDATE accounts SET inflight = inflight + 1, last_used_at = ? "
            "WHERE id = ? AND status IN ('active', 'cooling') AND cooldown_until <= ? "
            "AND inflight < max_inflight",
            (now, account_id, now),
        )
        return cur.rowcount == 1

    async def _release(self, account_id: str) -> None:
        db = await self._conn()
        await db.execute(
            "UPDATE accounts SET inflight = inflight - 1 WHERE id = ? AND inflight > 0",
            (account_id,),
        )

    async def _apply(self, account_id: str, feedback: Feedback) -> bool:
        sets = [
            "health = MAX(0.05, MIN(1.0, health * ? + ?))",
            "use_count = use_count + ?",
            "fail_count = CASE WHEN ? THEN 0 ELSE fail_count + ? END",
        ]
        succeeded = 1 if feedback.success else 0
        failed = 1 if feedback.counts_as_failure else 0
        params: list[object] = [
            feedback.health_factor,
            feedback.health_bonus,
            succeeded,
            succeeded,
            failed,
        ]
        if feedback.status is not None:
            sets.append("status = ?")
            params.append(feedback.status.value)
        if feedback.cooldown_until is not None:
            sets.append("cooldown_until = ?")
            params.append(feedback.cooldown_until)
        if feedback.error is not None:
            sets.append("last_error = ?")
            params.append(feedback.error[:500])
        db = await self._conn()
        cur = await db.execute(
            f"UPDATE accounts SET {', '.join(sets)} WHERE id = ?", (*params, account_id)
        )
        return cur.rowcount == 1
