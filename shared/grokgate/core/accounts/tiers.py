"""An account's tier from the quota totals grok.com reports (docs/grok-protocol.md §8.3, GO3 rules).

``auto`` total 7 or 20 → basic, 50 → super, 150 → heavy; ``fast`` total 30 → basic,
140 → super, 400 → heavy; any ``heavy`` total → heavy. When the signals disagree the lower tier
wins (an account is never promoted on a guess); without any signal the tier is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping

from grokgate.stores.records import Tier

__all__ = ["detect_tier"]

_AUTO_TOTALS = {7: Tier.BASIC, 20: Tier.BASIC, 50: Tier.SUPER, 150: Tier.HEAVY}
_FAST_TOTALS = {30: Tier.BASIC, 140: Tier.SUPER, 400: Tier.HEAVY}


def detect_tier(totals: Mapping[str, int]) -> Tier | None:
    """The tier ``totals`` (mode → ``totalQueries``) point to, or None when nothing does."""
    signals: list[Tier] = []
    auto = _AUTO_TOTALS.get(totals.get("auto", 0))
    if auto is not None:
        signals.append(auto)
    fast = _FAST_TOTALS.get(totals.get("fast", 0))
    if fast is not None:
        signals.append(fast)
    if totals.get("heavy", 0) > 0:
        signals.append(Tier.HEAVY)
    return min(signals, key=lambda t: t.rank) if signals else None
