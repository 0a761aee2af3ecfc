"""The account pool: lease an account for a model, give it back with what was learned.

Each instance keeps a short-lived snapshot of the accounts (refreshed in the background every
``snapshot_seconds``, or at once when it cannot find an account), ranks it with the one
selector, and tries the best few with the store's conditional write. Every write returns the
account's new state, which goes back into the snapshot, so the hot path costs exactly one write
to lease and one to release (feedback included), and no scan.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from grokgate.core.accounts.feedback import needs_refresh, on_failure, on_success
from grokgate.core.accounts.selector import eligible_tier, rank
from grokgate.core.registry import ModelSpec
from grokgate.errors import GrokGateError, NoAccountAvailableError, RateLimitError, UpstreamError
from grokgate.logs import get_logger, redact
from grokgate.stores.base import AccountStore
from grokgate.stores.records import SERVING, Account, Lease
from grokgate.stores.transitions import Feedback

if TYPE_CHECKING:
    from grokgate.core.accounts.quota import QuotaSync

log = get_logger("pool")

BUSY_RETRY_AFTER = 5.0  # seconds to wait when every account that can serve was tried
# "busy" says when the soonest lease expires (a slot frees then at the latest), but never more
# than this: a live request usually ends long before its lease, and a dead holder's lease is
# reclaimed at start-up (one host) or expires soon after its last extension
BUSY_RETRY_MAX = 5.0
MAX_TRIES = 4  # conditional writes per pass before re-reading the pool


class AccountPool:
    def __init__(
        self,
        store: AccountStore,
        *,
        quota: QuotaSync | None = None,
        cooldown_seconds: float = 900.0,
        snapshot_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
        demote: Callable[[Account], bool] | None = None,
    ) -> None:
        """``demote``: accounts it says yes to are tried last (their egress proxy rests)."""
        self.store = store
        self.demote = demote
        self.quota = quota
        self.cooldown_seconds = cooldown_seconds
        self.snapshot_seconds = snapshot_seconds
        self.clock = clock
        self._view: dict[str, Account] = {}
        self._written: dict[str, int] = {}  # account id → sequence number of our last write
        self._seq = 0
        self._pending: Counter[str] = Counter()  # lease attempts in flight, per account
        self._loaded_at = -math.inf
        self._refresh_lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._keepers: set[asyncio.Task[None]] = set()  # extending a held lease each

    # --- the snapshot ----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Re-read every account (a scan), reclaiming leases whose holders died."""
        async with self._refresh_lock:
            now = self.clock()
            started = self._seq
            view: dict[str, Account] = {}
            for account in await self.store.list_accounts():
                if account.expired_leases(now):
                    account = await self.store.reclaim(account) or account
                view[account.id] = account
            for account_id, seq in self._written.items():  # written while we were reading:
                if seq > started and account_id in self._view:  # ours is newer than the scan
                    view[account_id] = self._view[account_id]
            self._view = view
            self._written = {}
            self._loaded_at = now

    async def _snapshot(self) -> dict[str, Account]:
        age = self.clock() - self._loaded_at
        if math.isinf(age):
            await self.refresh()
        elif age >= self.snapshot_seconds and self._background is None:
            self._background = asyncio.create_task(self._refresh_in_background())
        return self._view

    async def _refresh_in_background(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # the snapshot stays as it was; the next request tries again
            log.warning("pool refresh failed: %s", redact(str(exc)))
        finally:
            self._background = None

    def _remember(self, account_id: str, account: Account | None) -> None:
        self._seq += 1
        self._written[account_id] = self._seq
        if account is None:
            self._view.pop(account_id, None)
        else:
            self._view[account_id] = account

    def snapshot(self) -> list[Account]:
        """This instance's current view of the pool (no I/O)."""
        return list(self._view.values())

    async def aclose(self) -> None:
        task, self._background = self._background, None
        tasks = [*self._keepers, *([task] if task is not None else [])]
        for running in tasks:
            running.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- leasing ---------------------------------------------------------------------------

    async def lease(
        self, spec: ModelSpec, exclude: frozenset[str] = frozenset()
    ) -> tuple[Account, Lease]:
        """Take the best available account for ``spec``; 429 or 503 with ``Retry-After``."""
        view = await self._snapshot()
        for final_pass in (False, True):
            now = self.clock()
            ranked = rank(view.values(), spec, now, exclude, self._pending)
            if self.demote is not None:
                ranked.sort(key=self.demote)  # stable: the selector's order within each group
            for account in ranked[:MAX_TRIES]:
                self._pending[account.id] += 1
                try:
                    got = await self.store.acquire(account.id, spec.mode, hint=account)
                finally:
                    self._pending[account.id] -= 1
                    if not self._pending[account.id]:
                        del self._pending[account.id]
                self._remember(account.id, got.account)
                if got.lease is not None and got.account is not None:
                    return got.account, got.lease
            if final_pass or now - self._loaded_at < 1.0:
                break
            await self.refresh()  # the view may be stale: look once more at the truth
            view = self._view
        raise self._exhausted(spec, exclude)

    @asynccontextmanager
    async def holding(self, account: Account, lease: Lease) -> AsyncIterator[None]:
        """While the body runs, push ``lease``'s expiry forward every third of the lease time,
        so a long use keeps its slot and a crashed one frees it soon after its last push. A use
        shorter than that costs no write at all (the timer is cancelled before it fires)."""
        keeper = asyncio.create_task(self._keep(account, lease))
        self._keepers.add(keeper)
        keeper.add_done_callback(self._keepers.discard)
        try:
            yield
        finally:
            keeper.cancel()  # not awaited: the caller may itself be cancelled (anyio)

    async def _keep(self, account: Account, lease: Lease) -> None:
        interval = self.store.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                got = await self.store.extend(lease, hint=account)
            except Exception as exc:  # try again next time; the lease may yet expire
                log.warning("could not extend a lease on %s: %s", account.id, redact(str(exc)))
                continue
            if got.account is not None:
                account = got.account
                self._remember(account.id, account)
            if got.lease is None:
                log.info("the lease on %s is no longer held: not extended", account.id)
                return
            lease = got.lease

    async def finish(
        self,
        account: Account,
        lease: Lease,
        error: UpstreamError | None = None,
        *,
        accepted: bool = True,
        abandoned: bool = False,
    ) -> None:
        """Release ``lease`` and record the outcome in the same write.

        ``accepted``: grok.com took the request (its query is spent even if it later failed).
        ``abandoned``: the client went away; the slot comes back (and the query, if grok.com
        never took the request), nothing is learned about the account.
        """
        now = self.clock()
        if abandoned:
            fb = Feedback(refund=not accepted)
        elif error is None:
            fb = on_success(account)
        else:
            fb = on_failure(error, lease, now, accepted, self.cooldown_seconds)
            log.warning("account %s failed (%s)", account.id, redact(error.message))
        try:
            after = await self.store.release(lease, fb, hint=account)
        except GrokGateError as exc:  # the lease expires on its own; never mask the answer
            log.error("could not release a lease on %s: %s", account.id, exc.message)
            return
        self._remember(account.id, after)
        if not abandoned:
            self._after_use(after, lease, error)

    def _after_use(self, after: Account | None, lease: Lease, error: UpstreamError | None) -> None:
        if self.quota is None or after is None:
            return
        if error is not None and needs_refresh(error.verdict):
            self.quota.schedule_refresh(after)
        elif error is None:
            self.quota.schedule_after_use(after, lease.mode)

    # --- when nothing can serve ------------------------------------------------------------

    def _exhausted(self, spec: ModelSpec, exclude: frozenset[str]) -> GrokGateError:
        now = self.clock()
        eligible = eligible_tier(self._view.values(), spec)
        candidates = [a for a in eligible if a.id not in exclude]
        live = [a for a in candidates if a.status in SERVING]
        if eligible and not candidates:
            return NoAccountAvailableError(
                f"No account available: every account that can serve {spec.id} was tried",
                retry_after=BUSY_RETRY_AFTER,
            )
        if not candidates:
            tiers = " or ".join(t.value for t in spec.tier_order())
            what = "xAI API key" if spec.is_xai else f"{tiers} account"
            return NoAccountAvailableError(
                f"No account available: the pool has no {what} for model {spec.id}",
                retry_after=BUSY_RETRY_AFTER * 6,
            )
        if not live:
            return NoAccountAvailableError(
                f"No account available: every account that can serve {spec.id} is expired or "
                "disabled",
                retry_after=BUSY_RETRY_AFTER * 6,
            )
        waits = [_wait(a, spec.mode, now) for a in live]
        if all(w is not None for w in waits):  # every live account waits for time to pass
            soonest = min(w for w in waits if w is not None)
            cooling = any(a.cooldown_until > now for a in live)
            why = "is cooling down or has" if cooling else "has"
            quota = "xAI's rate limit" if spec.is_xai else f"grok.com quota for mode {spec.mode}"
            return RateLimitError(
                f"Every account that can serve {spec.id} {why} used its {quota}; "
                f"retry after {math.ceil(soonest)} s",
                retry_after=max(1.0, soonest),
            )
        return NoAccountAvailableError(
            f"No account available: every account that can serve {spec.id} is busy; retry later",
            retry_after=_busy_wait(live, now),
        )


def _busy_wait(accounts: list[Account], now: float) -> float:
    """Seconds until the soonest lease of a full account expires (its slot frees then at the
    latest: a crashed holder's lease is never extended), within [1, BUSY_RETRY_MAX]."""
    soonest = [
        min(live)
        for a in accounts
        if a.live_inflight(now) >= a.max_inflight
        and (live := [expires for expires in a.leases.values() if expires > now])
    ]
    wait = min(soonest) - now if soonest else 1.0
    return min(BUSY_RETRY_MAX, max(1.0, wait))


def _wait(account: Account, mode: str, now: float) -> float | None:
    """Seconds until ``account`` may serve ``mode`` again, if it is waiting on time at all."""
    if account.cooldown_until > now:
        return account.cooldown_until - now
    if account.window_for(mode, now) is None:
        refill = account.next_refill(mode)
        return refill - now if refill is not None else None
    return None
