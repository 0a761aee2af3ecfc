"""detect_tier: the tier grok.com's quota totals point to
(docs/grok-protocol.md §8.3, GO3 rules)."""

from __future__ import annotations

import pytest

from grokgate.core.accounts.tiers import detect_tier
from grokgate.stores.records import COMPUTER_USE, DEFAULT_QUOTAS, Tier


@pytest.mark.parametrize("tier", list(Tier))
def test_the_default_totals_of_each_tier(tier: Tier) -> None:
    totals, _ = DEFAULT_QUOTAS[tier]
    assert detect_tier(totals) is tier


@pytest.mark.parametrize(
    ("totals", "tier"),
    [
        ({"auto": 7}, Tier.BASIC),
        ({"auto": 20}, Tier.BASIC),
        ({"auto": 50}, Tier.SUPER),
        ({"auto": 150}, Tier.HEAVY),
        ({"fast": 30}, Tier.BASIC),
        ({"fast": 140}, Tier.SUPER),
        ({"fast": 400}, Tier.HEAVY),
        ({"heavy": 1}, Tier.HEAVY),
        ({"heavy": 20, "auto": 0, "fast": 0}, Tier.HEAVY),
        ({"auto": 20, "fast": 30, "expert": 0, "heavy": 0, COMPUTER_USE: 0}, Tier.BASIC),
    ],
)
def test_single_signals(totals: dict[str, int], tier: Tier) -> None:
    assert detect_tier(totals) is tier


@pytest.mark.parametrize(
    ("totals", "tier"),
    [
        ({"auto": 50, "fast": 30}, Tier.BASIC),
        ({"auto": 150, "fast": 140}, Tier.SUPER),
        ({"auto": 50, "fast": 400, "heavy": 20}, Tier.SUPER),
        ({"auto": 20, "heavy": 20}, Tier.BASIC),
        ({"fast": 140, "heavy": 5}, Tier.SUPER),
    ],
)
def test_conflicting_signals_give_the_lower_tier(totals: dict[str, int], tier: Tier) -> None:
    assert detect_tier(totals) is tier


@pytest.mark.parametrize(
    "totals",
    [
        {},
        {"auto": 0, "fast": 0, "expert": 0, "heavy": 0},
        {"auto": 49, "fast": 31},
        {"expert": 50, COMPUTER_USE: 50},
        {"heavy": 0},
    ],
)
def test_no_signal_is_none(totals: dict[str, int]) -> None:
    assert detect_tier(totals) is None


def test_unknown_shapes_do_not_hide_a_known_signal() -> None:
    assert detect_tier({"auto": 999, "fast": 140}) is Tier.SUPER
