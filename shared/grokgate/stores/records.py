"""Records the stores persist: accounts of the pool, and the leases on them."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Tier(StrEnum):
    BASIC = "basic"
    SUPER = "super"
    HEAVY = "heavy"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]


_TIER_RANK = {Tier.BASIC: 0, Tier.SUPER: 1, Tier.HEAVY: 2}

# Which grok.com modes an account of each tier may use (research note §8.4: basic is fast-only).
TIER_MODES: dict[Tier, frozenset[str]] = {
    Tier.BASIC: frozenset({"fast"}),
    Tier.SUPER: frozenset({"auto", "fast", "expert", "grok-420-computer-use-sa"}),
    Tier.HEAVY: frozenset({"auto", "fast", "expert", "heavy", "grok-420-computer-use-sa"}),
}


class Status(StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"
    EXPIRED = "expired"
    DISABLED = "disabled"


def account_id_for(token: str) -> str:
    """A stable public id for an SSO token; reveals nothing of the token."""
    return "acct_" + hashlib.sha256(token.encode()).hexdigest()[:12]


class Account(BaseModel):
    """A grok.com web account of the pool. ``token`` is a secret and never rendered."""

    model_config = ConfigDict(frozen=True)

    id: str
    token: SecretStr
    tier: Tier = Tier.BASIC
    status: Status = Status.ACTIVE
    max_inflight: int = Field(8, ge=1)
    inflight: int = Field(0, ge=0)
    health: float = 1.0
    cooldown_until: float = 0.0
    use_count: int = 0
    fail_count: int = 0
    last_used_at: float = 0.0
    last_error: str | None = None
    created_at: float = 0.0

    def available(self, now: float) -> bool:
        return (
            self.status in (Status.ACTIVE, Status.COOLING)
            and self.cooldown_until <= now
            and self.inflight < self.max_inflight
        )


class Lease(BaseModel):
    """A hold on one in-flight slot of an account."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    acquired_at: float
