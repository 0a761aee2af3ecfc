"""Records the stores persist: accounts of the pool, their per-mode quotas, and leases.

An account carries its leases (lease id → expiry) inside its own record, so taking a slot is one
atomic write on one item in every backend; ``inflight`` is the number of leases held. Quotas are
per grok.com mode (docs/grok-protocol.md §8.1, §8.3): what remains, out of what, in which window,
and when an exhausted window is assumed to refill.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from grokgate.stores.holders import lease_holder


class Tier(StrEnum):
    BASIC = "basic"
    SUPER = "super"
    HEAVY = "heavy"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]


_TIER_RANK = {Tier.BASIC: 0, Tier.SUPER: 1, Tier.HEAVY: 2}

COMPUTER_USE = "grok-420-computer-use-sa"  # the Grok 4.3 beta mode ("grok_4_3" in PY2's table)

# Quota per mode and the window it is counted in, per tier (docs/grok-protocol.md §8.3). A tier
# may use exactly the modes it has a quota for: basic is fast-only.
DEFAULT_QUOTAS: dict[Tier, tuple[dict[str, int], float]] = {
    Tier.BASIC: ({"fast": 30}, 86400.0),
    Tier.SUPER: ({"auto": 50, "fast": 140, "expert": 50, COMPUTER_USE: 50}, 7200.0),
    Tier.HEAVY: (
        {"auto": 150, "fast": 400, "expert": 150, "heavy": 20, COMPUTER_USE: 150},
        7200.0,
    ),
}
TIER_MODES: dict[Tier, frozenset[str]] = {t: frozenset(q) for t, (q, _) in DEFAULT_QUOTAS.items()}
ALL_MODES: tuple[str, ...] = ("auto", "fast", "expert", "heavy", COMPUTER_USE)

# grok.com's Imagine quota groups (docs/grok-protocol.md §8.2, ``quota_info``): every tier may use
# them, and a window is only tracked once grok.com reported it (quota_info) or refused with a 429;
# until then an Imagine request is charged nothing (grok.com's numbers are unknown).
MEDIA_MODES: frozenset[str] = frozenset({"image", "imagePro", "imageEdit", "video"})
MEDIA_WINDOW_SECONDS = 86400.0

# The one "mode" of an xAI API key: its limits are xAI's own 429s (with Retry-After), so like an
# Imagine group it is untracked until a 429 marks it spent until a given time.
XAI_MODE = "xai"
UNTRACKED_MODES: frozenset[str] = MEDIA_MODES | {XAI_MODE}


def tier_has_mode(tier: Tier, mode: str) -> bool:
    """Whether ``tier`` may use ``mode`` at all (Imagine groups: every tier)."""
    return mode in MEDIA_MODES or mode in TIER_MODES[tier]


# AUTO requests fall back to the FAST and then the EXPERT window when AUTO is spent (§8.4).
_WINDOWS: dict[str, tuple[str, ...]] = {"auto": ("auto", "fast", "expert")}


def quota_windows(mode: str) -> tuple[str, ...]:
    """The quota windows a request in ``mode`` may be charged to, in order."""
    return _WINDOWS.get(mode, (mode,))


class AccountKind(StrEnum):
    GROK_WEB = "grok_web"  # a grok.com account (SSO cookie)
    XAI_API_KEY = "xai_api_key"  # a key of the official xAI API


class Status(StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"
    EXPIRED = "expired"
    DISABLED = "disabled"


SERVING = (Status.ACTIVE, Status.COOLING)  # a cooling account serves again once cooldown ends


class QuotaSource(StrEnum):
    DEFAULT = "default"  # the tier's documented numbers, never confirmed
    UPSTREAM = "upstream"  # read from /rest/rate-limits
    ESTIMATED = "estimated"  # counted down locally, or assumed refilled after the window


class ModeQuota(BaseModel):
    """One mode's quota window. ``reset_at`` is when a spent window is assumed full again."""

    model_config = ConfigDict(frozen=True)

    remaining: int = Field(ge=0)
    total: int = Field(ge=0)
    window: float = Field(gt=0)
    reset_at: float = 0.0
    synced_at: float = 0.0
    source: QuotaSource = QuotaSource.DEFAULT

    def refilled(self, now: float) -> bool:
        """Spent, but its window has passed: the next use starts a fresh window."""
        return self.remaining < 1 and self.total >= 1 and self.reset_at <= now

    def usable(self, now: float) -> bool:
        return self.remaining >= 1 or self.refilled(now)

    def remaining_at(self, now: float) -> int:
        return self.total if self.refilled(now) else self.remaining


def default_quotas(tier: Tier, now: float) -> dict[str, ModeQuota]:
    totals, window = DEFAULT_QUOTAS[tier]
    return {
        mode: ModeQuota(remaining=n, total=n, window=window, reset_at=now + window)
        for mode, n in totals.items()
    }


def account_id_for(token: str, kind: AccountKind = AccountKind.GROK_WEB) -> str:
    """A stable public id for an SSO token or API key; reveals nothing of the secret."""
    prefix = "xai_" if kind is AccountKind.XAI_API_KEY else "acct_"
    return prefix + hashlib.sha256(token.encode()).hexdigest()[:12]


class Account(BaseModel):
    """An account of the pool: a grok.com web account (``token`` is its SSO cookie) or an xAI
    API key (``token`` is the key). ``token`` is a secret and never rendered."""

    model_config = ConfigDict(frozen=True)

    id: str
    token: SecretStr
    kind: AccountKind = AccountKind.GROK_WEB
    tier: Tier = Tier.BASIC
    user_id: str | None = None  # grok.com's user id (the WS gateway's ``uid``), once known
    egress: str | None = None  # the proxy (host:port) all its grok.com traffic leaves from
    status: Status = Status.ACTIVE
    max_inflight: int = Field(8, ge=1)
    health: float = 1.0
    cooldown_until: float = 0.0
    use_count: int = 0
    fail_count: int = 0
    last_used_at: float = 0.0
    last_error: str | None = None
    created_at: float = 0.0
    synced_at: float = 0.0  # last full quota refresh from grok.com
    quotas: dict[str, ModeQuota] = Field(default_factory=dict)
    leases: dict[str, float] = Field(default_factory=dict)  # lease id → expires at (the id
    # names its holder: grokgate.stores.holders)

    @property
    def inflight(self) -> int:
        """Slots held, expired leases included until they are reclaimed."""
        return len(self.leases)

    def live_inflight(self, now: float) -> int:
        return sum(1 for expires in self.leases.values() if expires > now)

    def expired_leases(self, now: float) -> list[str]:
        return [lid for lid, expires in self.leases.items() if expires <= now]

    def serving(self, now: float) -> bool:
        """Alive and not cooling down (whatever its load and quotas)."""
        return self.status in SERVING and self.cooldown_until <= now

    def window_for(self, mode: str, now: float) -> str | None:
        """The quota window a request in ``mode`` would be charged to now, if any. Fallback
        windows only serve accounts whose tier has the mode itself (basic never serves AUTO).
        An Imagine group is usable while untracked, or when it has queries left, or once the
        time it was spent until has passed. An xAI key serves only the xAI "mode", alike."""
        if not self.can_serve(mode):
            return None
        if mode in UNTRACKED_MODES:
            quota = self.quotas.get(mode)
            if quota is None or quota.remaining >= 1 or quota.reset_at <= now:
                return mode
            return None
        for window in quota_windows(mode):
            quota = self.quotas.get(window)
            if quota is not None and quota.usable(now):
                return window
        return None

    def can_serve(self, mode: str) -> bool:
        """Whether this account's kind and tier have ``mode`` at all."""
        if self.kind is AccountKind.XAI_API_KEY:
            return mode == XAI_MODE
        return mode in MEDIA_MODES or mode in self.quotas

    def available(self, mode: str, now: float, pending: int = 0) -> bool:
        """May serve ``mode`` now, counting ``pending`` lease attempts not yet answered."""
        return (
            self.serving(now)
            and self.live_inflight(now) + pending < self.max_inflight
            and self.window_for(mode, now) is not None
        )

    def next_refill(self, mode: str) -> float | None:
        """When the earliest spent window for ``mode`` refills (None: nothing to wait for)."""
        media = mode in UNTRACKED_MODES  # a spent Imagine group needs no known total
        waits = [
            q.reset_at
            for w in quota_windows(mode)
            if (q := self.quotas.get(w)) is not None and q.remaining < 1 and (q.total >= 1 or media)
        ]
        return min(waits) if waits else None


def to_doc(account: Account) -> dict[str, Any]:
    """The account as plain data for a backend to persist, token included."""
    doc = account.model_dump(mode="json", exclude={"token"})
    doc["token"] = account.token.get_secret_value()
    return doc


def from_doc(doc: dict[str, Any]) -> Account:
    return Account.model_validate(doc)


class Lease(BaseModel):
    """A hold on one in-flight slot of an account, charged to one quota window."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    mode: str  # the quota window charged (the mode sent upstream)
    acquired_at: float
    expires_at: float

    @property
    def holder(self) -> str | None:
        """The instance that took it (None for a lease of an older version)."""
        return lease_holder(self.id)
