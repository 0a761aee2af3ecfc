"""The one account selector: which accounts may serve a model, best first
(docs/grok-protocol.md §8.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from grokgate.core.registry import ModelSpec
from grokgate.stores.records import Account

UNTRACKED_REMAINING = 1  # what an untracked Imagine group counts as in the score
RECENT_USE_WINDOW = 15.0  # seconds during which a just-used account is slightly penalised


def score(account: Account, mode: str, now: float, pending: int = 0) -> float:
    """Higher is better: healthy, quota left, idle, rarely failing, not used a moment ago.

    ``health*100 + remaining*25 - inflight*20 - min(fails,10)*4``, minus up to 15 for use in
    the last 15 s, where ``remaining`` is what is left in the window the request would use and
    ``inflight`` counts ``pending`` lease attempts this instance has not seen answered yet.
    """
    window = account.window_for(mode, now)
    quota = account.quotas.get(window) if window else None
    if window and quota is None:
        remaining = UNTRACKED_REMAINING  # an Imagine group nobody has counted yet
    else:
        remaining = quota.remaining_at(now) if quota is not None else 0
    remaining = max(0, remaining - pending)
    value = (
        account.health * 100
        + remaining * 25
        - (account.live_inflight(now) + pending) * 20
        - min(account.fail_count, 10) * 4
    )
    since = max(0.0, now - account.last_used_at)  # another instance's clock may run ahead
    if account.last_used_at and since < RECENT_USE_WINDOW:
        value -= 15 * (1 - since / RECENT_USE_WINDOW)
    return value


def rank(
    accounts: Iterable[Account],
    spec: ModelSpec,
    now: float,
    exclude: frozenset[str] = frozenset(),
    pending: Mapping[str, int] | None = None,
) -> list[Account]:
    """Accounts that may serve ``spec`` now, in the order to try them.

    Tier order comes first (cheapest tier that can serve the model, or the best tier first for
    ``prefer_best`` models), then the score. ``pending`` (account id → lease attempts in
    flight from this instance) spreads concurrent requests instead of racing them for one
    account.
    """
    order = {tier: i for i, tier in enumerate(spec.tier_order())}
    busy = pending or {}
    eligible = [
        a
        for a in accounts
        if a.id not in exclude
        and a.tier in order
        and a.available(spec.mode, now, busy.get(a.id, 0))
    ]
    return sorted(
        eligible,
        key=lambda a: (order[a.tier], -score(a, spec.mode, now, busy.get(a.id, 0)), a.id),
    )


def eligible_tier(accounts: Iterable[Account], spec: ModelSpec) -> list[Account]:
    """Accounts whose tier could serve ``spec`` at all, whatever their state."""
    tiers = set(spec.tier_order())
    return [a for a in accounts if a.tier in tiers and a.can_serve(spec.mode)]
