"""The account pool: lease an account for a model, give it back, learn from the outcome."""

from __future__ import annotations

import time
from collections.abc import Callable

from grokgate.core.accounts.selector import eligible_tier, rank
from grokgate.core.registry import ModelSpec
from grokgate.errors import NoAccountAvailableError, UpstreamError, Verdict
from grokgate.logs import get_logger, redact
from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.records import Account, Lease, Status

log = get_logger("pool")

# Health multipliers per verdict (research note §8.5).
_HEALTH = {
    Verdict.EXPIRED: 0.55,
    Verdict.BLOCKED: 0.25,
    Verdict.RATE_LIMITED: 0.45,
    Verdict.UNAVAILABLE: 0.75,
    Verdict.CHALLENGED: 1.0,  # Cloudflare / anti-bot: not the account's fault
    Verdict.MODE_UNAVAILABLE: 1.0,
}
SUCCESS_BONUS = 0.12
NO_ACCOUNT_RETRY_AFTER = 30.0


class AccountPool:
    def __init__(
        self,
        store: AccountStore,
        *,
        cooldown_seconds: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock

    async def lease(
        self, spec: ModelSpec, exclude: frozenset[str] = frozenset()
    ) -> tuple[Account, Lease]:
        """Take the best available account for ``spec``, or raise 503 with ``Retry-After``."""
        accounts = await self.store.list_accounts()
        now = self.clock()
        for account in rank(accounts, spec, now, exclude):
            lease = await self.store.acquire(account.id)
            if lease is not None:
                return account, lease
        raise self._exhausted(accounts, spec, now)

    async def release(self, lease: Lease) -> None:
        await self.store.release(lease)

    async def report_success(self, account: Account) -> None:
        status = Status.ACTIVE if account.status is Status.COOLING else None
        await self.store.record(
            account.id, Feedback(success=True, status=status, health_bonus=SUCCESS_BONUS)
        )

    async def report_failure(self, account: Account, error: UpstreamError) -> None:
        verdict = error.verdict
        status: Status | None = None
        cooldown: float | None = None
        if verdict is Verdict.EXPIRED:
            status = Status.EXPIRED
        elif verdict is Verdict.BLOCKED:
            status = Status.DISABLED
        elif verdict is Verdict.RATE_LIMITED:
            status = Status.COOLING
            wait = error.retry_after if error.retry_after is not None else self.cooldown_seconds
            cooldown = self.clock() + wait
        message = redact(f"{verdict.value}: {error.message}")
        log.warning("account %s failed (%s)", account.id, message)
        await self.store.record(
            account.id,
            Feedback(
                success=False,
                status=status,
                health_factor=_HEALTH[verdict],
                cooldown_until=cooldown,
                error=message,
            ),
        )

    def _exhausted(
        self, accounts: list[Account], spec: ModelSpec, now: float
    ) -> NoAccountAvailableError:
        candidates = eligible_tier(accounts, spec)
        live = [a for a in candidates if a.status in (Status.ACTIVE, Status.COOLING)]
        if not candidates:
            tiers = " or ".join(t.value for t in spec.tier_order())
            reason = f"the pool has no {tiers} account for model {spec.id}"
        elif not live:
            reason = f"every account that can serve {spec.id} is expired or disabled"
        else:
            reason = f"every account that can serve {spec.id} is busy or cooling down"
        waits = [a.cooldown_until - now for a in live if a.cooldown_until > now]
        retry_after = min(waits) if waits and len(waits) == len(live) else NO_ACCOUNT_RETRY_AFTER
        return NoAccountAvailableError(
            f"No account available: {reason}; retry later", retry_after=max(1.0, retry_after)
        )
