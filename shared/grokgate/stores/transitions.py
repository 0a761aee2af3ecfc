"""The store contract as pure functions: what taking a slot and applying a change do.

Backends that can lock (SQLite) run these inside a transaction; backends that write with
conditional expressions (DynamoDB) translate them into one update each. The contract tests hold
both to the same results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from grokgate.logs import clip
from grokgate.stores.records import (
    MEDIA_WINDOW_SECONDS,
    SERVING,
    UNTRACKED_MODES,
    Account,
    ModeQuota,
    QuotaSource,
    Status,
    Tier,
)

HEALTH_FLOOR = 0.05
ERROR_LIMIT = 500  # characters of last_error kept


@dataclass(frozen=True, slots=True)
class Feedback:
    """A change to one account. Fields left at their default change nothing."""

    success: bool = False  # a served request: use_count + 1, fail_count reset
    status: Status | None = None
    health_factor: float = 1.0  # multiply health by this (failures)
    health_bonus: float = 0.0  # then add this, within [HEALTH_FLOOR, 1.0]
    reset_health: bool = False  # health back to 1.0 and fail_count to 0 (operator restore)
    cooldown_until: float | None = None
    error: str | None = None  # becomes last_error; with success=False it counts as a failure
    clear_error: bool = False
    quota_mode: str | None = None  # the window that quota_exhausted_until / refund apply to
    quota_exhausted_until: float | None = None  # 429: the window is spent until then
    refund: bool = False  # give back the lease's query (it never reached grok); not to a spent
    # window, which may have been spent by a 429 meanwhile
    tier: Tier | None = None
    quotas: Mapping[str, ModeQuota] | None = None
    replace_quotas: bool = False  # quotas replace the whole map instead of updating modes
    synced_at: float | None = None
    user_id: str | None = None  # grok.com's user id, learnt from /api/auth/session
    egress: str | None = None  # pin the account to this egress (a proxy's host:port)

    @property
    def counts_as_failure(self) -> bool:
        return not self.success and self.error is not None

    @property
    def touches_health(self) -> bool:
        return self.reset_health or self.health_factor != 1.0 or self.health_bonus != 0.0


def new_health(current: float, fb: Feedback) -> float:
    if fb.reset_health:
        return 1.0
    return max(HEALTH_FLOOR, min(1.0, current * fb.health_factor + fb.health_bonus))


def truncate_error(error: str) -> str:
    return clip(error, ERROR_LIMIT)


def take_slot(
    account: Account, mode: str, lease_id: str, expires_at: float, now: float
) -> tuple[str, Account] | None:
    """Reserve one query of ``mode`` and one in-flight slot, or None if the account may not.

    Expired leases are dropped first, so a crashed holder never keeps a slot for good. The
    query is charged to the first usable window for ``mode`` (AUTO falls back to FAST, EXPERT);
    a spent window whose reset time has passed starts afresh.
    """
    leases = {lid: exp for lid, exp in account.leases.items() if exp > now}
    if account.status not in SERVING or account.cooldown_until > now:
        return None
    if len(leases) >= account.max_inflight:
        return None
    window = account.window_for(mode, now)
    if window is None:
        return None
    quotas = dict(account.quotas)
    quota = quotas.get(window)
    if quota is None or (window in UNTRACKED_MODES and quota.remaining < 1):
        # An untracked Imagine group costs nothing; a spent one whose time has passed is
        # untracked again until grok.com's numbers are read.
        quotas.pop(window, None)
    elif quota.refilled(now):
        quota = quota.model_copy(
            update={
                "remaining": quota.total - 1,
                "reset_at": now + quota.window,
                "source": QuotaSource.ESTIMATED,
            }
        )
        quotas[window] = quota
    else:
        quotas[window] = quota.model_copy(update={"remaining": quota.remaining - 1})
    leases[lease_id] = expires_at
    updated = account.model_copy(update={"leases": leases, "quotas": quotas, "last_used_at": now})
    return window, updated


def extend_lease(account: Account, lease_id: str, expires_at: float) -> Account | None:
    """``account`` with ``lease_id`` now expiring at ``expires_at`` (never earlier than it
    did), or None if the lease is not held any more (released, or reclaimed as expired)."""
    current = account.leases.get(lease_id)
    if current is None:
        return None
    if current >= expires_at:
        return account
    return account.model_copy(update={"leases": {**account.leases, lease_id: expires_at}})


def apply(account: Account, fb: Feedback, drop_leases: Iterable[str] = ()) -> Account:
    """``account`` after ``fb`` (and with ``drop_leases`` given back)."""
    update: dict[str, object] = {}
    dropped = set(drop_leases)
    if dropped & account.leases.keys():
        update["leases"] = {k: v for k, v in account.leases.items() if k not in dropped}
    if fb.touches_health:
        update["health"] = new_health(account.health, fb)
    if fb.success:
        update["use_count"] = account.use_count + 1
        update["fail_count"] = 0
    elif fb.counts_as_failure:
        update["fail_count"] = account.fail_count + 1
    if fb.reset_health:
        update["fail_count"] = 0
    if fb.status is not None:
        update["status"] = fb.status
    if fb.cooldown_until is not None:
        update["cooldown_until"] = fb.cooldown_until
    if fb.clear_error:
        update["last_error"] = None
    if fb.error is not None:
        update["last_error"] = truncate_error(fb.error)
    if fb.tier is not None:
        update["tier"] = fb.tier
    if fb.synced_at is not None:
        update["synced_at"] = fb.synced_at
    if fb.user_id is not None:
        update["user_id"] = fb.user_id
    if fb.egress is not None:
        update["egress"] = fb.egress
    quotas = quota_changes(account.quotas, fb)
    if quotas is not None:
        update["quotas"] = quotas
    return account.model_copy(update=update) if update else account


def untracked_media_quota() -> ModeQuota:
    """The stand-in for an Imagine group nobody has counted yet (its total is unknown)."""
    return ModeQuota(remaining=0, total=0, window=MEDIA_WINDOW_SECONDS)


def quota_changes(current: Mapping[str, ModeQuota], fb: Feedback) -> dict[str, ModeQuota] | None:
    """The new quota map after ``fb``, or None when ``fb`` leaves quotas alone."""
    if fb.quotas is None and fb.quota_mode is None:
        return None
    quotas = dict(fb.quotas or {}) if fb.replace_quotas else {**current, **(fb.quotas or {})}
    quota = quotas.get(fb.quota_mode) if fb.quota_mode else None
    if quota is None and fb.quota_mode in UNTRACKED_MODES and fb.quota_exhausted_until is not None:
        quota = untracked_media_quota()  # a 429 starts tracking an Imagine group
    if quota is not None and fb.quota_exhausted_until is not None:
        quotas[fb.quota_mode] = quota.model_copy(  # type: ignore[index]
            update={
                "remaining": 0,
                "reset_at": fb.quota_exhausted_until,
                "source": QuotaSource.ESTIMATED,
            }
        )
    elif quota is not None and fb.refund and quota.remaining >= 1:
        # A spent window stays spent: it may be a 429's, which a refund must not reopen.
        quotas[fb.quota_mode] = quota.model_copy(  # type: ignore[index]
            update={"remaining": quota.remaining + 1}
        )
    return quotas
