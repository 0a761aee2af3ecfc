"""Shared helpers for the AccountPool tests: models, a clock, fakes and the harness."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.registry import ModelSpec, resolve
from grokgate.errors import UpstreamError, Verdict
from grokgate.stores.records import Account, ModeQuota, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from tests.support import FakeClock

FAST = resolve("grok-4.20-0309-non-reasoning")  # fast; [basic, super, heavy]
FAST_BEST = resolve("grok-4.20-fast")  # fast, prefer_best: [heavy, super, basic]
AUTO = resolve("grok-4.20-0309")  # auto; [super, heavy]
DAY = 86400.0


class CountingStore(SqliteAccountStore):
    """Counts scans and writes; a scan can be held at a gate or made to fail."""

    def __init__(self, path: Path, clock: FakeClock) -> None:
        super().__init__(path, clock=clock)
        self.scans = 0
        self.writes = 0
        self.gate: asyncio.Event | None = None  # a scan waits here after reading
        self.at_gate = asyncio.Event()  # set once a scan waits at the gate
        self.scan_error: Exception | None = None

    async def list_accounts(self) -> list[Account]:
        self.scans += 1
        if self.scan_error is not None:
            raise self.scan_error
        accounts = await super().list_accounts()
        if self.gate is not None:
            self.at_gate.set()
            await self.gate.wait()
        return accounts

    async def _acquire(self, *args: Any, **kwargs: Any) -> tuple[str | None, Account | None]:
        self.writes += 1
        return await super()._acquire(*args, **kwargs)

    async def _update(self, *args: Any, **kwargs: Any) -> Account | None:
        self.writes += 1
        return await super()._update(*args, **kwargs)

    async def _extend(self, *args: Any, **kwargs: Any) -> tuple[bool, Account | None]:
        self.writes += 1
        return await super()._extend(*args, **kwargs)


class FakeQuota:
    """Records what the pool asks the quota sync to do."""

    def __init__(self) -> None:
        self.after_use: list[tuple[str, str]] = []
        self.refreshes: list[str] = []

    def schedule_after_use(self, account: Account, mode: str) -> None:
        self.after_use.append((account.id, mode))

    def schedule_refresh(self, account: Account) -> None:
        self.refreshes.append(account.id)


@dataclass
class Harness:
    pool: AccountPool
    store: CountingStore
    clock: FakeClock
    others: list[SqliteAccountStore] = field(default_factory=list)

    async def add(self, token: str, tier: Tier = Tier.BASIC, max_inflight: int = 8) -> Account:
        account, _ = await self.store.add_account(token, tier, max_inflight=max_inflight)
        return account

    async def pair(self, tier: Tier = Tier.BASIC, max_inflight: int = 8) -> list[Account]:
        """Two equal accounts, the one that wins a tie (smaller id) first."""
        accounts = [
            await self.add(f"token-{name}-000000", tier, max_inflight) for name in ("a", "b")
        ]
        return sorted(accounts, key=lambda a: a.id)

    async def get(self, account: Account | str) -> Account:
        account_id = account if isinstance(account, str) else account.id
        fresh = await self.store.get_account(account_id)
        assert fresh is not None
        return fresh

    async def use(
        self,
        spec: ModelSpec = FAST,
        error: UpstreamError | None = None,
        *,
        accepted: bool = True,
    ) -> Account:
        """Lease, finish with ``error`` (or success); the account as stored afterwards."""
        account, lease = await self.pool.lease(spec)
        await self.pool.finish(account, lease, error, accepted=accepted)
        return await self.get(account)

    async def set_quota(
        self, account: Account, mode: str, remaining: int, total: int, reset_in: float = DAY
    ) -> None:
        quota = ModeQuota(
            remaining=remaining, total=total, window=DAY, reset_at=self.clock.now + reset_in
        )
        await self.store.sync_quotas(account.id, {mode: quota})

    def other_store(self) -> SqliteAccountStore:
        """Another store object on the same file (another instance of the gateway)."""
        other = SqliteAccountStore(self.store.path, clock=self.clock)
        self.others.append(other)
        return other

    def view(self, account: Account) -> Account:
        return {a.id: a for a in self.pool.snapshot()}[account.id]


async def settle(pool: AccountPool) -> None:
    """Wait for the pool's background refresh, if one is running."""
    while (task := pool._background) is not None:
        await asyncio.gather(task, return_exceptions=True)


def failure(
    verdict: Verdict, message: str = "boom", retry_after: float | None = None
) -> UpstreamError:
    return UpstreamError(message, verdict=verdict, retry_after=retry_after)
