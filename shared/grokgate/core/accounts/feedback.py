"""What an upstream outcome teaches the pool about the account
(docs/grok-protocol.md §8.4, §8.5)."""

from __future__ import annotations

from grokgate.errors import UpstreamError, Verdict
from grokgate.logs import redact
from grokgate.stores.records import Account, Lease, Status
from grokgate.stores.transitions import Feedback

SUCCESS_BONUS = 0.12
_DEAD = {Verdict.EXPIRED: Status.EXPIRED, Verdict.BLOCKED: Status.DISABLED}

# Health multipliers per verdict (§8.4); 1.0 means the account is not to blame.
HEALTH: dict[Verdict, float] = {
    Verdict.EXPIRED: 0.55,
    Verdict.BLOCKED: 0.25,
    Verdict.RATE_LIMITED: 0.45,
    Verdict.UNAVAILABLE: 0.75,
    Verdict.CHALLENGED: 1.0,  # Cloudflare / anti-bot: the request, not the account
    Verdict.MODE_UNAVAILABLE: 1.0,  # our idea of its tier is wrong: a refresh fixes it
    Verdict.REJECTED: 1.0,  # the client's input was refused: the account did nothing wrong
    Verdict.EGRESS: 1.0,  # its proxy failed: the egress is rested, the account is not punished
}


def on_success(account: Account) -> Feedback:
    """A served answer: health up, failures reset, a cooling account is active again."""
    status = Status.ACTIVE if account.status is Status.COOLING else None
    return Feedback(success=True, health_bonus=SUCCESS_BONUS, status=status)


def on_failure(
    error: UpstreamError, lease: Lease, now: float, accepted: bool, cooldown_seconds: float
) -> Feedback:
    """The change for a failed call made under ``lease``.

    ``accepted``: grok.com took the request, so its query is spent; otherwise it is refunded.
    A 429 spends the lease's window until ``Retry-After`` (or ``cooldown_seconds``).
    """
    verdict = error.verdict
    message = redact(f"{verdict.value}: {error.message}")
    refund = not accepted
    if verdict in (Verdict.CHALLENGED, Verdict.REJECTED, Verdict.EGRESS):
        return Feedback(refund=refund)  # not the account's fault: do not punish
    status = _DEAD.get(verdict)
    exhausted_until: float | None = None
    if verdict is Verdict.RATE_LIMITED:
        wait = error.retry_after if error.retry_after is not None else cooldown_seconds
        exhausted_until, refund = now + wait, False
    elif verdict is Verdict.MODE_UNAVAILABLE:
        exhausted_until, refund = now + cooldown_seconds, False
    return Feedback(
        status=status,
        health_factor=HEALTH[verdict],
        error=message,
        quota_exhausted_until=exhausted_until,
        quota_mode=lease.mode if exhausted_until is not None else None,
        refund=refund,
    )


def needs_refresh(verdict: Verdict) -> bool:
    """Whether grok.com's own numbers should be re-read (a 429, or a mode the tier lacks)."""
    return verdict in (Verdict.RATE_LIMITED, Verdict.MODE_UNAVAILABLE)


def on_account_error(error: UpstreamError) -> Feedback | None:
    """The change for a failed call made outside a lease (a quota read): only what the error
    says about the account itself (expired, blocked) is recorded; None for anything else."""
    status = _DEAD.get(error.verdict)
    if status is None:
        return None
    message = redact(f"{error.verdict.value}: {error.message}")
    return Feedback(status=status, health_factor=HEALTH[error.verdict], error=message)
