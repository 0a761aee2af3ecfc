"""rank() and score(): which accounts may serve a model now, best first
(docs/grok-protocol.md §8.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from grokgate.core.accounts.selector import RECENT_USE_WINDOW, eligible_tier, rank, score
from grokgate.core.registry import resolve
from grokgate.stores.records import Account, ModeQuota, Status, Tier, default_quotas

NOW = 1_000_000.0
FAST = resolve("grok-4.20-0309-non-reasoning")  # fast, [basic, super, heavy]
FAST_BEST = resolve("grok-4.20-fast")  # fast, [heavy, super, basic]
AUTO = resolve("grok-4.20-0309")  # auto, [super, heavy]
HEAVY_ONLY = resolve("grok-4.20-0309-heavy")  # auto, [heavy]


def acct(
    account_id: str, tier: Tier = Tier.BASIC, *, inflight: int = 0, **fields: object
) -> Account:
    """An account with its tier's default quotas (unless given) and ``inflight`` live leases."""
    fields.setdefault("quotas", default_quotas(tier, NOW))
    fields.setdefault("leases", {f"lease-{i}": NOW + 60 for i in range(inflight)})
    return Account(id=account_id, token=SecretStr(f"tok-{account_id}"), tier=tier, **fields)


def bare(account_id: str, **fields: object) -> Account:
    """An account without quotas: its score has no quota term."""
    return acct(account_id, quotas={}, **fields)


def ids(accounts: list[Account]) -> list[str]:
    return [a.id for a in accounts]


# --- filtering ---------------------------------------------------------------------------


def test_other_tiers_are_excluded() -> None:
    pool = [acct("b", Tier.BASIC), acct("s", Tier.SUPER), acct("h", Tier.HEAVY)]
    assert ids(rank(pool, AUTO, NOW)) == ["s", "h"]
    assert ids(rank(pool, HEAVY_ONLY, NOW)) == ["h"]


def test_excluded_ids_are_skipped() -> None:
    pool = [acct("a"), acct("b"), acct("c")]
    assert ids(rank(pool, FAST, NOW, frozenset({"a", "c"}))) == ["b"]


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.DISABLED])
def test_dead_accounts_are_excluded(status: Status) -> None:
    assert rank([acct("a", status=status)], FAST, NOW) == []


def test_cooling_account_is_excluded_until_its_cooldown_ends() -> None:
    cooling = acct("a", status=Status.COOLING, cooldown_until=NOW + 1)
    assert rank([cooling], FAST, NOW) == []
    assert ids(rank([cooling], FAST, NOW + 1)) == ["a"]


def test_cooldown_in_the_future_excludes_even_an_active_account() -> None:
    assert rank([acct("a", cooldown_until=NOW + 60)], FAST, NOW) == []


def test_account_at_its_inflight_cap_is_excluded() -> None:
    full = acct("full", max_inflight=2, inflight=2)
    room = acct("room", max_inflight=2, inflight=1)
    assert ids(rank([full, room], FAST, NOW)) == ["room"]


def test_eligible_tier_ignores_state() -> None:
    pool = [
        acct("b"),
        acct("s", Tier.SUPER, status=Status.EXPIRED),
        acct("h", Tier.HEAVY, inflight=8),
    ]
    assert ids(eligible_tier(pool, AUTO)) == ["s", "h"]


# --- ordering ----------------------------------------------------------------------------


def test_tier_order_comes_before_score() -> None:
    sick_basic = acct("b", Tier.BASIC, health=0.1, fail_count=9)
    fine_super = acct("s", Tier.SUPER)
    fine_heavy = acct("h", Tier.HEAVY)
    pool = [fine_heavy, fine_super, sick_basic]
    assert ids(rank(pool, FAST, NOW)) == ["b", "s", "h"]
    assert ids(rank(pool, FAST_BEST, NOW)) == ["h", "s", "b"]


def test_within_a_tier_higher_score_first() -> None:
    pool = [
        acct("a", health=0.5),
        acct("b", health=1.0),
        acct("c", health=1.0, inflight=1),
        acct("d", health=1.0, fail_count=2),
    ]
    # scores: a 50, b 100, c 80, d 92
    assert ids(rank(pool, FAST, NOW)) == ["b", "d", "c", "a"]


def test_recently_used_account_goes_after_an_idle_one() -> None:
    pool = [acct("a", last_used_at=NOW - 1), acct("b", last_used_at=NOW - 100)]
    assert ids(rank(pool, FAST, NOW)) == ["b", "a"]


def test_ties_are_broken_by_id() -> None:
    pool = [acct("c"), acct("a"), acct("b")]
    assert ids(rank(pool, FAST, NOW)) == ["a", "b", "c"]


# --- score -------------------------------------------------------------------------------


def test_score_of_an_idle_healthy_account() -> None:
    assert score(bare("a"), "fast", NOW) == 100


def test_score_formula() -> None:
    account = bare("a", health=0.5, inflight=2, fail_count=3)
    assert score(account, "fast", NOW) == pytest.approx(50 - 40 - 12)
    with_quota = acct("b", health=0.5, inflight=2, fail_count=3)  # basic: fast 30 left
    assert score(with_quota, "fast", NOW) == pytest.approx(50 + 30 * 25 - 40 - 12)


def test_score_counts_the_window_the_request_would_use() -> None:
    spent = ModeQuota(remaining=0, total=50, window=7200, reset_at=NOW + 60)
    quotas = {**default_quotas(Tier.SUPER, NOW), "auto": spent}
    account = acct("a", Tier.SUPER, quotas=quotas)
    assert score(account, "auto", NOW) == pytest.approx(100 + 140 * 25)  # falls back to fast
    assert score(account, "auto", NOW + 60) == pytest.approx(100 + 50 * 25)  # auto refilled


def test_expired_leases_do_not_count_as_load() -> None:
    account = bare("a", leases={"dead": NOW - 1, "live": NOW + 1})
    assert score(account, "fast", NOW) == pytest.approx(100 - 20)


def test_fail_penalty_is_capped_at_ten_failures() -> None:
    assert (
        score(bare("a", fail_count=10), "fast", NOW)
        == score(bare("b", fail_count=500), "fast", NOW)
        == 60
    )


@pytest.mark.parametrize(
    ("ago", "penalty"),
    [(0.0, 15.0), (3.0, 12.0), (7.5, 7.5), (14.0, 1.0), (15.0, 0.0), (100.0, 0.0)],
)
def test_recent_use_penalty_fades_over_15_seconds(ago: float, penalty: float) -> None:
    assert RECENT_USE_WINDOW == 15.0
    assert score(bare("a", last_used_at=NOW - ago), "fast", NOW) == pytest.approx(100 - penalty)


def test_never_used_account_has_no_recent_use_penalty() -> None:
    assert score(bare("a", last_used_at=0.0), "fast", 5.0) == 100


def test_recent_use_penalty_is_at_most_15_even_for_a_timestamp_ahead_of_the_clock() -> None:
    # last_used_at is written by whichever instance acquired the account; with a shared store
    # another instance's clock can be slightly ahead. The penalty is "up to 15".
    assert score(bare("a", last_used_at=NOW + 5), "fast", NOW) >= 100 - 15


# --- property ----------------------------------------------------------------------------

account_strategy = st.builds(
    acct,
    st.text("abcdefgh", min_size=1, max_size=3),
    st.sampled_from(list(Tier)),
    status=st.sampled_from(list(Status)),
    max_inflight=st.integers(1, 4),
    inflight=st.integers(0, 5),
    health=st.floats(0.05, 1.0),
    cooldown_until=st.sampled_from([0.0, NOW - 10, NOW + 10]),
    fail_count=st.integers(0, 20),
    last_used_at=st.sampled_from([0.0, NOW - 100, NOW - 5, NOW]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(account_strategy, max_size=8, unique_by=lambda a: a.id),
    st.sampled_from([FAST, FAST_BEST, AUTO, HEAVY_ONLY]),
)
def test_rank_returns_exactly_the_available_accounts_in_order(pool: list[Account], spec) -> None:
    ranked = rank(pool, spec, NOW)
    order = spec.tier_order()
    expected = {a.id for a in pool if a.tier in order and a.available(spec.mode, NOW)}
    assert set(ids(ranked)) == expected
    keys = [(order.index(a.tier), -score(a, spec.mode, NOW), a.id) for a in ranked]
    assert keys == sorted(keys)


def test_pending_attempts_of_this_instance_spread_concurrent_requests() -> None:
    pool = [acct("a"), acct("b")]
    assert ids(rank(pool, FAST, NOW)) == ["a", "b"]
    assert ids(rank(pool, FAST, NOW, pending={"a": 1})) == ["b", "a"]


def test_pending_attempts_count_towards_the_cap() -> None:
    pool = [acct("a", max_inflight=2, inflight=1), acct("b")]
    assert ids(rank(pool, FAST, NOW, pending={"a": 1})) == ["b"]
