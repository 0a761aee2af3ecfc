"""Wire shapes of the JSON admin API (``/admin/api/...``). No field ever holds a token, a key
or a cookie: accounts carry a masked ``token_hint`` and redacted errors only."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grokgate.logs import mask, redact
from grokgate.stores.jobs import Job, JobStatus
from grokgate.stores.records import SERVING, Account, AccountKind, Status, Tier


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class QuotaOut(_Out):
    remaining: int
    remaining_now: int
    total: int
    window: float
    reset_at: float
    synced_at: float
    source: str


class AccountOut(_Out):
    id: str
    kind: AccountKind
    tier: Tier
    status: Status
    display_status: str  # "cooling 14m" while a cooldown runs
    token_hint: str  # masked: its first four characters
    max_inflight: int
    inflight: int
    health: float
    cooldown_until: float
    use_count: int
    fail_count: int
    last_used_at: float
    last_error: str | None
    created_at: float
    synced_at: float
    egress: str | None
    quotas: dict[str, QuotaOut]

    @classmethod
    def of(cls, account: Account, now: float | None = None) -> AccountOut:
        from grokgate.cli_format import status_text

        at = time.time() if now is None else now
        quotas = {
            mode: QuotaOut(
                remaining=q.remaining,
                remaining_now=q.remaining_at(at),
                total=q.total,
                window=q.window,
                reset_at=q.reset_at,
                synced_at=q.synced_at,
                source=q.source.value,
            )
            for mode, q in account.quotas.items()
        }
        return cls(
            id=account.id,
            kind=account.kind,
            tier=account.tier,
            status=account.status,
            display_status=status_text(account, at),
            token_hint=mask(account.token.get_secret_value()),
            max_inflight=account.max_inflight,
            inflight=account.live_inflight(at),
            health=account.health,
            cooldown_until=account.cooldown_until,
            use_count=account.use_count,
            fail_count=account.fail_count,
            last_used_at=account.last_used_at,
            last_error=redact(account.last_error) if account.last_error else None,
            created_at=account.created_at,
            synced_at=account.synced_at,
            egress=account.egress,
            quotas=quotas,
        )


class AccountList(_Out):
    data: list[AccountOut]


class ImportIn(BaseModel):
    """A paste or a file's text, read by the CLI's parser (lines or JSON)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1_000_000)
    tier: Tier | None = None  # for entries without a tier: prefix (default GROKGATE_DEFAULT_TIER)
    kind: AccountKind = AccountKind.GROK_WEB
    refresh: bool = False  # read quotas and tier from grok.com afterwards


class Imported(_Out):
    id: str
    label: str
    created: bool
    tier: Tier
    kind: AccountKind


class Rejected(_Out):
    label: str  # "line 3": never the token
    reason: str


class ImportOut(_Out):
    added: int
    present: int
    rejected: list[Rejected]
    accounts: list[Imported]


class RefreshOut(_Out):
    id: str
    tier_before: Tier
    tier_after: Tier | None
    error: str | None
    account: AccountOut | None


class Removed(_Out):
    id: str
    removed: bool


class StatsigOut(_Out):
    kind: str  # signed, synthetic, provider
    source: str | None  # env (the settings), store (grokgate statsig set), ...
    set_at: float | None
    age_seconds: float | None
    header_hint: str | None  # the first bytes of the header, never all of it


class ProxyOut(_Out):
    key: str  # host:port, never credentials; "direct" without proxies
    state: Literal["live", "resting", "dead"]
    failures: int
    last_error: str | None


class CounterOut(_Out):
    name: str
    dimensions: dict[str, str]
    count: int


class PoolSummary(_Out):
    accounts: int
    by_status: dict[str, int]
    by_kind: dict[str, int]
    serving: int
    inflight: int
    with_errors: int


class HealthOut(_Out):
    statsig: StatsigOut
    proxies: list[ProxyOut]
    counters: list[CounterOut]  # this instance's, since it started
    pool: PoolSummary

    @staticmethod
    def summary(accounts: list[Account], now: float) -> PoolSummary:
        by_status: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for a in accounts:
            by_status[a.status.value] = by_status.get(a.status.value, 0) + 1
            by_kind[a.kind.value] = by_kind.get(a.kind.value, 0) + 1
        return PoolSummary(
            accounts=len(accounts),
            by_status=by_status,
            by_kind=by_kind,
            serving=sum(1 for a in accounts if a.status in SERVING and a.serving(now)),
            inflight=sum(a.live_inflight(now) for a in accounts),
            with_errors=sum(1 for a in accounts if a.last_error),
        )


class JobOut(_Out):
    id: str
    kind: str
    status: JobStatus
    progress: int
    model: str
    prompt: str
    owner: str  # a hash naming the client key, shortened
    account_id: str | None
    seconds: Any = None
    size: Any = None
    created_at: float
    updated_at: float
    completed_at: float | None
    error_code: str | None
    error_message: str | None
    result_url: str | None  # relative to /admin/

    @classmethod
    def of(cls, job: Job) -> JobOut:
        done = job.status is JobStatus.COMPLETED and bool(job.result.get("video_key"))
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            progress=job.progress,
            model=job.model,
            prompt=job.prompt[:500],
            owner=job.owner[:12] or "-",
            account_id=job.account_id,
            seconds=job.params.get("seconds"),
            size=job.params.get("size"),
            created_at=job.created_at,
            updated_at=job.updated_at,
            completed_at=job.completed_at,
            error_code=job.error_code,
            error_message=redact(job.error_message) if job.error_message else None,
            result_url=f"api/jobs/{job.id}/content" if done else None,
        )


class JobList(_Out):
    data: list[JobOut]
    has_more: bool
    last_id: str | None
