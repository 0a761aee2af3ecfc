"""What an upstream outcome teaches the pool: on_success / on_failure / needs_refresh, pure."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from grokgate.core.accounts.feedback import (
    HEALTH,
    SUCCESS_BONUS,
    needs_refresh,
    on_failure,
    on_success,
)
from grokgate.errors import UpstreamError, Verdict
from grokgate.logs import register_secret
from grokgate.stores.records import Account, Lease, Status
from grokgate.stores.transitions import Feedback

NOW = 1_700_000_000.0
COOLDOWN = 900.0
LEASE = Lease(id="l1", account_id="acct_1", mode="fast", acquired_at=NOW, expires_at=NOW + 360)


def account(status: Status = Status.ACTIVE) -> Account:
    return Account(id="acct_1", token=SecretStr("tok-0000000000"), status=status)


def error(verdict: Verdict, message: str, retry_after: float | None) -> UpstreamError:
    return UpstreamError(message, verdict=verdict, retry_after=retry_after)


def fail(
    verdict: Verdict,
    *,
    accepted: bool = True,
    retry_after: float | None = None,
    message: str = "boom",
    lease: Lease = LEASE,
) -> Feedback:
    return on_failure(error(verdict, message, retry_after), lease, NOW, accepted, COOLDOWN)


# --- success -----------------------------------------------------------------------------


def test_success_counts_and_adds_the_bonus() -> None:
    assert on_success(account()) == Feedback(success=True, health_bonus=SUCCESS_BONUS)
    assert pytest.approx(0.12) == SUCCESS_BONUS


def test_success_turns_a_cooling_account_active() -> None:
    assert on_success(account(Status.COOLING)).status is Status.ACTIVE


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.EXPIRED, Status.DISABLED])
def test_success_sets_no_other_status(status: Status) -> None:
    assert on_success(account(status)).status is None


def test_success_neither_refunds_nor_touches_quotas() -> None:
    fb = on_success(account())
    assert (fb.refund, fb.quota_mode, fb.quota_exhausted_until) == (False, None, None)


# --- failure -----------------------------------------------------------------------------


def test_every_verdict_has_a_health_factor() -> None:
    assert set(HEALTH) == set(Verdict)
    assert all(0 < factor <= 1.0 for factor in HEALTH.values())


@pytest.mark.parametrize(
    ("verdict", "status", "factor"),
    [
        (Verdict.EXPIRED, Status.EXPIRED, 0.55),
        (Verdict.BLOCKED, Status.DISABLED, 0.25),
        (Verdict.RATE_LIMITED, None, 0.45),
        (Verdict.UNAVAILABLE, None, 0.75),
        (Verdict.MODE_UNAVAILABLE, None, 1.0),
    ],
)
def test_failure_status_health_and_error(
    verdict: Verdict, status: Status | None, factor: float
) -> None:
    fb = fail(verdict, message="upstream said no")
    assert fb.status is status
    assert fb.health_factor == pytest.approx(factor)
    assert fb.error == f"{verdict.value}: upstream said no"
    assert fb.counts_as_failure
    assert not fb.success
    assert fb.cooldown_until is None  # quota windows wait, never the whole account


@pytest.mark.parametrize("accepted", [True, False])
def test_a_challenge_does_not_punish(accepted: bool) -> None:
    fb = fail(Verdict.CHALLENGED, accepted=accepted)
    assert fb == Feedback(refund=not accepted)
    assert not fb.counts_as_failure
    assert not fb.touches_health


def test_a_rate_limit_spends_the_leases_window_until_retry_after() -> None:
    auto_on_fast = LEASE.model_copy(update={"mode": "fast"})  # AUTO fell back to FAST
    fb = fail(Verdict.RATE_LIMITED, retry_after=42.0, lease=auto_on_fast)
    assert fb.quota_mode == "fast"
    assert fb.quota_exhausted_until == NOW + 42.0
    assert fb.refund is False


def test_a_rate_limit_without_retry_after_waits_the_cooldown() -> None:
    fb = fail(Verdict.RATE_LIMITED)
    assert fb.quota_exhausted_until == NOW + COOLDOWN


def test_a_rate_limit_is_never_refunded() -> None:
    fb = fail(Verdict.RATE_LIMITED, accepted=False, retry_after=5.0)
    assert fb.refund is False
    assert fb.quota_exhausted_until == NOW + 5.0


def test_mode_unavailable_spends_the_window_for_the_cooldown() -> None:
    fb = fail(Verdict.MODE_UNAVAILABLE, accepted=False, retry_after=5.0)
    assert fb.quota_mode == "fast"
    assert fb.quota_exhausted_until == NOW + COOLDOWN
    assert fb.refund is False


@pytest.mark.parametrize("verdict", [Verdict.EXPIRED, Verdict.BLOCKED, Verdict.UNAVAILABLE])
@pytest.mark.parametrize("accepted", [True, False])
def test_other_failures_refund_only_when_not_accepted(verdict: Verdict, accepted: bool) -> None:
    fb = fail(verdict, accepted=accepted, retry_after=30.0)
    assert fb.refund is (not accepted)
    assert fb.quota_exhausted_until is None  # Retry-After means nothing here
    assert fb.quota_mode is None  # the store charges the lease's window


def test_the_error_is_redacted() -> None:
    secret = "sso-feedback-secret-8c1d2e"
    register_secret(secret)
    fb = fail(Verdict.UNAVAILABLE, message=f"sent {secret} and sso=cookie-shaped-value; x")
    assert fb.error is not None
    assert secret not in fb.error
    assert "cookie-shaped-value" not in fb.error
    assert fb.error.startswith("unavailable: sent ")


@pytest.mark.parametrize(
    ("verdict", "refresh"),
    [
        (Verdict.RATE_LIMITED, True),
        (Verdict.MODE_UNAVAILABLE, True),
        (Verdict.EXPIRED, False),
        (Verdict.BLOCKED, False),
        (Verdict.CHALLENGED, False),
        (Verdict.UNAVAILABLE, False),
    ],
)
def test_needs_refresh(verdict: Verdict, refresh: bool) -> None:
    assert needs_refresh(verdict) is refresh
