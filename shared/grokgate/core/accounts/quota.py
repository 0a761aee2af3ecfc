"""Quotas read from grok.com (``/rest/rate-limits``, docs/grok-protocol.md §8.1, §8.4) into the
store.

:meth:`QuotaSync.refresh` reads every mode of an account, replaces its quota map and sets the
tier the totals point to; :meth:`QuotaSync.sync_mode` re-reads one mode. A mode grok.com says
is exhausted reopens after its ``waitTimeSeconds`` (§8.1), else after its window.
The pool calls the ``schedule_*`` methods after a request: they run those reads in background
tasks, throttled (one mode at most every ``sync_seconds``, a full refresh at most every
``refresh_seconds``) and deduplicated, and never raise. A 401 on the read marks the account
expired, a block disables it; any other failure leaves the store as it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from grokgate.core.accounts.feedback import on_account_error
from grokgate.core.accounts.tiers import detect_tier
from grokgate.errors import GrokGateError, UpstreamError, Verdict
from grokgate.logs import get_logger, redact
from grokgate.stores.base import AccountStore
from grokgate.stores.records import (
    ALL_MODES,
    MEDIA_MODES,
    Account,
    AccountKind,
    ModeQuota,
    QuotaSource,
    Tier,
)
from grokgate.upstream.grokweb.ratelimits import RateLimits

__all__ = ["QuotaFetcher", "QuotaSync", "RefreshOutcome"]

log = get_logger("quota")

_REFRESH = "*"  # the task key's mode slot for a full refresh
_MAX_WAIT = 86400.0  # no waitTimeSeconds benches a mode for longer than a day (or its window)


class QuotaFetcher(Protocol):
    async def rate_limits(self, account: Account, mode: str) -> RateLimits: ...


class ImagineQuotaFetcher(Protocol):
    """Reads ``/rest/media/imagine/quota_info`` (§8.2): group → window (None: not reported).

    A window has ``available``, ``remaining``, ``window`` (seconds) and ``next_available_at``.
    """

    async def imagine_quota(self, account: Account) -> dict[str, Any]: ...


def media_quota(window: Any, stored: ModeQuota | None, now: float) -> ModeQuota:
    """An Imagine group's window from ``quota_info`` (which reports no total: the largest count
    seen stands in for it)."""
    remaining = int(window.remaining) if window.available else 0
    length = float(window.window) if window.window and window.window > 0 else 86400.0
    reset_at = window.next_available_at if remaining < 1 and window.next_available_at else None
    total = max(remaining, stored.total if stored is not None else 0)
    return ModeQuota(
        remaining=remaining,
        total=total,
        window=length,
        reset_at=reset_at if reset_at is not None else now + length,
        synced_at=now,
        source=QuotaSource.UPSTREAM,
    )


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What a refresh did. ``account`` is the state after (None: no longer in the store)."""

    account: Account | None
    tier_before: Tier
    tier_after: Tier | None
    error: str | None = None


def _held_by_a_429(stored: ModeQuota | None, now: float) -> bool:
    """A window a 429 spent (estimated at zero) whose Retry-After has not passed yet."""
    return (
        stored is not None
        and stored.remaining == 0
        and stored.source is QuotaSource.ESTIMATED
        and stored.reset_at > now
    )


def _describe(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, GrokGateError) else f"{type(exc).__name__}: {exc}"
    return redact(text)


def _severity(exc: BaseException) -> int:
    """Which of several failed reads speaks for the account: a block, then a 401."""
    if isinstance(exc, UpstreamError):
        return {Verdict.BLOCKED: 3, Verdict.EXPIRED: 2}.get(exc.verdict, 1)
    return 0


class QuotaSync:
    """Reads grok.com's quota numbers for accounts and writes them to ``store``."""

    def __init__(
        self,
        store: AccountStore,
        fetcher: QuotaFetcher,
        *,
        sync_seconds: float = 120.0,
        refresh_seconds: float = 300.0,
        concurrency: int = 8,
        clock: Callable[[], float] = time.time,
        imagine: ImagineQuotaFetcher | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.store = store
        self.fetcher = fetcher
        self.imagine = imagine  # reads the Imagine groups; None: they stay untracked
        self.sync_seconds = sync_seconds
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._limit = asyncio.Semaphore(concurrency)  # shared by every call of this instance
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._last_sync: dict[tuple[str, str], float] = {}  # (account, mode) → last scheduled
        self._last_refresh: dict[str, float] = {}  # account → last scheduled full refresh
        self._closed = False

    # --- reads -----------------------------------------------------------------------------

    async def _fetch(self, account: Account, mode: str) -> RateLimits:
        async with self._limit:
            return await self.fetcher.rate_limits(account, mode)

    def _quota(self, limits: RateLimits, stored: ModeQuota | None, now: float) -> ModeQuota | None:
        """The mode's quota from grok.com's numbers; None when it says the mode has none."""
        remaining = limits.remaining_queries
        if remaining is None:  # no data: what we had stands
            return stored
        total = limits.total_queries
        if total is None:  # only what remains is known: keep the total we had
            total = stored.total if stored is not None else remaining
        if total < 1:
            return None
        window = limits.window_size_seconds
        wait = limits.wait_time_seconds
        if remaining < 1 and wait is not None:  # grok's own time until the window reopens
            return ModeQuota(
                remaining=0,
                total=total,
                window=window,
                reset_at=now + min(wait, max(window, _MAX_WAIT)),
                synced_at=now,
                source=QuotaSource.UPSTREAM,
            )
        if _held_by_a_429(stored, now):  # grok's Retry-After stands, whatever the count says
            assert stored is not None
            return stored.model_copy(update={"total": total, "window": window, "synced_at": now})
        return ModeQuota(
            remaining=remaining,
            total=total,
            window=window,
            reset_at=now + window,
            synced_at=now,
            source=QuotaSource.UPSTREAM,
        )

    async def _failed(self, account: Account, exc: BaseException) -> tuple[Account | None, str]:
        """Apply what a failed read says about the account; returns (account after, error)."""
        error = _describe(exc)
        fb = on_account_error(exc) if isinstance(exc, UpstreamError) else None
        if fb is None:
            log.warning("could not read the quota of %s: %s", account.id, error)
            return account, error
        log.warning("account %s marked %s on a quota read: %s", account.id, fb.status, error)
        return await self.store.record(account.id, fb), error

    async def refresh(self, account: Account) -> RefreshOutcome:
        """Read every mode; replace the account's quotas and set the tier they point to.

        A mode without data keeps its stored quota; a mode whose total is 0 is dropped (the
        account cannot use it). If any read fails, nothing is written (but a 401 or a block
        marks the account) and the outcome carries the error. An xAI API key has nothing to
        read (its limits are xAI's 429s): it is returned as it is.
        """
        if account.kind is AccountKind.XAI_API_KEY:
            return RefreshOutcome(account, account.tier, account.tier)
        results = await asyncio.gather(
            *(self._fetch(account, mode) for mode in ALL_MODES), return_exceptions=True
        )
        answers: list[RateLimits] = []
        failures: list[Exception] = []
        for result in results:
            if isinstance(result, RateLimits):
                answers.append(result)
            elif isinstance(result, Exception):
                failures.append(result)
            else:  # cancellation and the like
                raise result
        if failures:
            after, error = await self._failed(account, max(failures, key=_severity))
            tier_after = after.tier if after is not None else None
            return RefreshOutcome(after, account.tier, tier_after, error)
        now = self.clock()
        quotas: dict[str, ModeQuota] = {}
        totals: dict[str, int] = {}
        for mode, limits in zip(ALL_MODES, answers, strict=True):
            if limits.total_queries is not None:
                totals[mode] = limits.total_queries
            quota = self._quota(limits, account.quotas.get(mode), now)
            if quota is not None:
                quotas[mode] = quota
        for group in MEDIA_MODES & account.quotas.keys():  # read by sync_media, not here
            quotas[group] = account.quotas[group]
        if not quotas:
            error = "grok.com reported no quota for any mode; the stored quotas are kept"
            log.warning("quota refresh of %s: %s", account.id, error)
            return RefreshOutcome(account, account.tier, account.tier, error)
        tier = detect_tier(totals)
        after = await self.store.sync_quotas(account.id, quotas, tier=tier, full=True)
        tier_after = after.tier if after is not None else None
        if after is not None and tier_after is not account.tier:
            log.info("account %s is %s (was %s)", account.id, tier_after, account.tier)
        return RefreshOutcome(after, account.tier, tier_after)

    async def sync_mode(self, account: Account, mode: str) -> Account | None:
        """Read one mode and store it. Returns the account after (None: no longer stored).

        Failures are handled as in :meth:`refresh` and logged. If grok.com says the account
        has no quota for a mode it holds, its tier may have changed: a full refresh is
        scheduled.
        """
        if mode in MEDIA_MODES:
            return await self.sync_media(account)
        try:
            limits = await self._fetch(account, mode)
        except Exception as exc:
            after, _ = await self._failed(account, exc)
            return after
        if not limits.has_data:
            return account
        quota = self._quota(limits, account.quotas.get(mode), self.clock())
        if quota is None:
            if mode in account.quotas:
                self.schedule_refresh(account)
            return account
        return await self.store.sync_quotas(account.id, {mode: quota})

    async def sync_media(self, account: Account) -> Account | None:
        """Read the Imagine groups (``quota_info``) and store the ones grok.com reports."""
        if self.imagine is None:
            return account
        try:
            async with self._limit:
                windows = await self.imagine.imagine_quota(account)
        except Exception as exc:
            after, _ = await self._failed(account, exc)
            return after
        now = self.clock()
        quotas = {
            group: media_quota(window, account.quotas.get(group), now)
            for group, window in windows.items()
            if group in MEDIA_MODES
            and window is not None
            and not _held_by_a_429(account.quotas.get(group), now)  # grok's 429 stands
        }
        if not quotas:
            return account
        return await self.store.sync_quotas(account.id, quotas)

    # --- background ------------------------------------------------------------------------

    def schedule_after_use(self, account: Account, mode: str) -> None:
        """Re-read ``mode`` in the background if it was last read over ``sync_seconds`` ago."""
        try:
            if self._closed or self.sync_seconds <= 0 or account.kind is AccountKind.XAI_API_KEY:
                return
            key = (account.id, mode)
            if self._pending(key):
                return
            now = self.clock()
            stored = account.quotas.get(mode)
            last = max(stored.synced_at if stored is not None else 0.0, self._last_sync.get(key, 0))
            if now - last < self.sync_seconds:
                return
            self._spawn(key, lambda: self.sync_mode(account, mode))
            self._last_sync[key] = now
        except Exception:
            log.exception("could not schedule a quota read of %s", account.id)

    def schedule_refresh(self, account: Account) -> None:
        """Refresh ``account`` in the background, at most once per ``refresh_seconds``."""
        try:
            if self._closed or account.kind is AccountKind.XAI_API_KEY:
                return
            key = (account.id, _REFRESH)
            if self._pending(key):
                return
            now = self.clock()
            last = self._last_refresh.get(account.id)
            if last is not None and now - last < self.refresh_seconds:
                return
            self._spawn(key, lambda: self.refresh(account))
            self._last_refresh[account.id] = now
        except Exception:
            log.exception("could not schedule a quota refresh of %s", account.id)

    def _pending(self, key: tuple[str, str]) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    def _spawn(self, key: tuple[str, str], work: Callable[[], Awaitable[object]]) -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._guarded(key, work), name=f"quota {key[0]} {key[1]}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _guarded(self, key: tuple[str, str], work: Callable[[], Awaitable[object]]) -> None:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("background quota read of %s failed: %s", key[0], _describe(exc))

    async def drain(self) -> None:
        """Wait until no background read is pending (including ones scheduled meanwhile)."""
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the background reads and wait for them; schedules after this do nothing."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
