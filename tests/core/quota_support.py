"""Shared helpers for the QuotaSync tests: rate-limit answers, a fake fetcher, the harness."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from grokgate.core.accounts.quota import QuotaSync
from grokgate.stores.records import COMPUTER_USE, Account, ModeQuota, QuotaSource, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.grokweb.ratelimits import RateLimits
from tests.support import FakeClock

T0 = 1_700_000_000.0
TOKEN = "sso-quota-test-0001-eyJhbGciOiJIUzI1NiJ9"
OTHER = "sso-quota-test-0002-eyJhbGciOiJIUzI1NiJ9"


def rl(remaining: int | None, total: int | None, window: float = 7200.0) -> RateLimits:
    return RateLimits(window_size_seconds=window, remaining_queries=remaining, total_queries=total)


NONE = rl(0, 0)
SUPER = {"auto": rl(41, 50), "fast": rl(120, 140), "expert": rl(50, 50), COMPUTER_USE: rl(9, 50)}
BASIC = {"fast": rl(3, 30, 86400.0)}


class FakeFetcher:
    """Answers per mode (missing modes: total 0); ``gate`` holds every call until set."""

    def __init__(self, answers: Mapping[str, RateLimits | Exception] | None = None) -> None:
        self.answers: dict[str, RateLimits | Exception] = dict(answers or {})
        self.calls: list[tuple[str, str]] = []
        self.gate: asyncio.Event | None = None
        self.active = 0
        self.peak = 0

    async def rate_limits(self, account: Account, mode: str) -> RateLimits:
        self.calls.append((account.id, mode))
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
            answer = self.answers.get(mode, NONE)
            if isinstance(answer, Exception):
                raise answer
            return answer
        finally:
            self.active -= 1


@dataclass
class H:
    store: SqliteAccountStore
    fetcher: FakeFetcher
    clock: FakeClock
    quota: QuotaSync
    extra: list[QuotaSync] = field(default_factory=list)

    async def add(self, tier: Tier = Tier.BASIC, token: str = TOKEN) -> Account:
        account, _ = await self.store.add_account(token, tier)
        return account

    async def get(self, account: Account) -> Account:
        fresh = await self.store.get_account(account.id)
        assert fresh is not None
        return fresh

    def sync(self, **kw: float) -> QuotaSync:
        quota = QuotaSync(self.store, self.fetcher, clock=self.clock, **kw)  # type: ignore[arg-type]
        self.extra.append(quota)
        return quota


def upstream(remaining: int, total: int, now: float, window: float = 7200.0) -> ModeQuota:
    return ModeQuota(
        remaining=remaining,
        total=total,
        window=window,
        reset_at=now + window,
        synced_at=now,
        source=QuotaSource.UPSTREAM,
    )
