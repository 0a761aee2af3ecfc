"""SimState: tiers, quota windows, fault queue, request log."""

from __future__ import annotations

import threading

import pytest

from grokgate.simulator.state import (
    CHAT_PATH,
    FAULTS,
    TIER_QUOTAS,
    RecordedRequest,
    SimState,
)
from tests.support import FakeClock


def test_tier_defaults() -> None:
    state = SimState()
    basic = state.add_account("b", "basic")
    assert basic.remaining == {"fast": 30} and basic.window_s == 86400
    super_ = state.add_account("s")
    assert super_.tier == "super" and super_.window_s == 7200
    assert super_.remaining == {
        "auto": 50,
        "fast": 140,
        "expert": 50,
        "grok-420-computer-use-sa": 50,
    }
    heavy = state.add_account("h", "heavy", user_id="uid-1")
    assert heavy.user_id == "uid-1"
    assert heavy.remaining["heavy"] == 20 and heavy.remaining["fast"] == 400
    assert not basic.can_use("auto") and basic.can_use("fast")
    assert not super_.can_use("heavy") and heavy.can_use("heavy")
    assert set(TIER_QUOTAS) == {"basic", "super", "heavy"}
    with pytest.raises(ValueError):
        state.add_account("x", "premium")


def test_quota_window() -> None:
    clock = FakeClock(1_000_000.0)
    state = SimState(clock=clock)
    state.add_account("b", "basic")
    for _ in range(30):
        assert state.consume("b", "fast") is None
    assert state.quota("b", "fast") == (86400, 0, 30)
    clock.now += 100
    assert state.consume("b", "fast") == 86300
    clock.now += 86299.5
    assert state.consume("b", "fast") == 1
    clock.now += 0.5
    assert state.quota("b", "fast") == (86400, 30, 30)
    assert state.consume("b", "fast") is None
    assert state.quota("b", "fast") == (86400, 29, 30)
    assert state.quota("b", "auto") == (86400, 0, 0)


def test_fault_queue_order_and_sticky() -> None:
    state = SimState()
    state.add_account("t")
    state.inject("t", "500", times=2)
    state.inject("t", "429", retry_after=7)
    assert [f.name if f else None for f in (state.take_fault("t") for _ in range(4))] == [
        "500",
        "500",
        "429",
        None,
    ]
    state.inject("t", "slow", times=-1, delay=0.01)
    for _ in range(5):
        fault = state.take_fault("t")
        assert fault is not None and fault.name == "slow" and fault.delay == 0.01
    state.clear_faults("t")
    assert state.take_fault("t") is None


def test_inject_validation() -> None:
    state = SimState()
    state.add_account("t")
    with pytest.raises(ValueError):
        state.inject("t", "418")
    with pytest.raises(ValueError):
        state.inject("t", "500", times=0)
    with pytest.raises(KeyError):
        state.inject("unknown", "500")
    assert {"401", "403_cf", "403_antibot", "403_blocked", "429", "cut", "slow"} <= set(FAULTS)


def test_reset_and_request_log() -> None:
    state = SimState()
    state.add_account("abcdefgh")
    state.consume("abcdefgh", "auto")
    state.inject("abcdefgh", "500", times=-1)
    for path in (CHAT_PATH, "/rest/rate-limits", CHAT_PATH):
        state.record(RecordedRequest("POST", path, {}, None, "abcdefgh", True))
    state.record(RecordedRequest("POST", CHAT_PATH, {}, None, "other", False))
    assert len(state.chat_requests()) == 3
    assert len(state.chat_requests("abcdefgh")) == 2
    stats = state.stats()
    assert stats["requests"] == 4
    (account,) = stats["accounts"]
    assert account["token"] == "abcd…"
    assert account["requests"] == 3 and account["chat_requests"] == 2
    assert account["remaining"]["auto"] == 49
    state.reset()
    assert state.requests == [] and state.take_fault("abcdefgh") is None
    assert state.accounts["abcdefgh"].remaining["auto"] == 50


def test_concurrent_consume_is_exact() -> None:
    state = SimState()
    state.add_account("h", "heavy")

    def worker() -> None:
        for _ in range(50):
            state.consume("h", "fast")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.accounts["h"].remaining["fast"] == 0
