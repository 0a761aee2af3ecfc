"""The JSON admin API, ``/admin/api/...``: what the console's pages call, for scripts too.

Same auth as the pages (the session cookie with CSRF on changes, or the admin key as a bearer).
Accounts are managed with the operations the CLI uses (:mod:`grokgate.core.accounts.imports`,
the store's enable / disable / remove, :class:`~grokgate.core.accounts.quota.QuotaSync`).
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from grokgate.admin.auth import require_admin
from grokgate.admin.schemas import (
    AccountList,
    AccountOut,
    CounterOut,
    HealthOut,
    Imported,
    ImportIn,
    ImportOut,
    JobList,
    JobOut,
    ProxyOut,
    RefreshOut,
    Rejected,
    Removed,
    StatsigOut,
)
from grokgate.api.deps import public_base_url, runtime_of
from grokgate.errors import NotFoundError
from grokgate.logs import redact
from grokgate.runtime import Runtime
from grokgate.stores.records import Account, AccountKind, Status, Tier

ACCOUNT_ID = re.compile(r"(acct|xai)_[0-9a-f]{12}")

router = APIRouter(dependencies=[Depends(require_admin)])


def _json(out: Any) -> Response:
    return Response(out.model_dump_json(), media_type="application/json")


async def _account(rt: Runtime, account_id: str) -> Account:
    found = None
    if ACCOUNT_ID.fullmatch(account_id):
        found = await (await rt.store()).get_account(account_id)
    if found is None:
        raise NotFoundError("No such account", param="account_id")
    return found


# --- accounts ------------------------------------------------------------------------------


@router.get("/api/accounts", response_model=AccountList)
async def list_accounts(request: Request) -> Response:
    accounts = await (await runtime_of(request).store()).list_accounts()
    now = time.time()
    return _json(AccountList(data=[AccountOut.of(a, now) for a in accounts]))


@router.post("/api/accounts/import", response_model=ImportOut)
async def import_accounts(body: ImportIn, request: Request) -> Response:
    from grokgate.core.accounts.imports import import_text

    rt = runtime_of(request)
    s = rt.settings
    xai = body.kind is AccountKind.XAI_API_KEY
    report = await import_text(
        await rt.store(),
        body.text,
        default_tier=body.tier or Tier(s.default_tier),
        max_inflight=s.xai_max_inflight if xai else s.max_inflight,
        kind=body.kind,
    )
    if body.refresh and report.outcomes and not xai:
        quota = await rt.quota_sync()
        for outcome in report.outcomes:
            await quota.refresh(outcome.account)
    out = ImportOut(
        added=report.added,
        present=report.present,
        rejected=[Rejected(label=lb, reason=redact(r)) for lb, r in report.sorted_rejections()],
        accounts=[
            Imported(
                id=o.account.id,
                label=o.label,
                created=o.created,
                tier=o.account.tier,
                kind=o.account.kind,
            )
            for o in report.outcomes
        ],
    )
    return _json(out)


async def _set_status(request: Request, account_id: str, status: Status) -> Response:
    rt = runtime_of(request)
    await _account(rt, account_id)
    store = await rt.store()
    if not await store.set_status(account_id, status):
        raise NotFoundError("No such account", param="account_id")
    return _json(AccountOut.of(await _account(rt, account_id)))


@router.post("/api/accounts/{account_id}/enable", response_model=AccountOut)
async def enable_account(account_id: str, request: Request) -> Response:
    """Active again: cooldown over, health and failures reset, last error cleared."""
    return await _set_status(request, account_id, Status.ACTIVE)


@router.post("/api/accounts/{account_id}/disable", response_model=AccountOut)
async def disable_account(account_id: str, request: Request) -> Response:
    return await _set_status(request, account_id, Status.DISABLED)


@router.post("/api/accounts/{account_id}/refresh", response_model=RefreshOut)
async def refresh_account(account_id: str, request: Request) -> Response:
    """Read the account's quotas (and so its tier) from grok.com now."""
    rt = runtime_of(request)
    account = await _account(rt, account_id)
    outcome = await (await rt.quota_sync()).refresh(account)
    after = outcome.account
    return _json(
        RefreshOut(
            id=account_id,
            tier_before=outcome.tier_before,
            tier_after=outcome.tier_after,
            error=redact(outcome.error) if outcome.error else None,
            account=AccountOut.of(after) if after is not None else None,
        )
    )


@router.delete("/api/accounts/{account_id}", response_model=Removed)
async def remove_account(account_id: str, request: Request) -> Response:
    rt = runtime_of(request)
    await _account(rt, account_id)
    removed = await (await rt.store()).remove_account(account_id)
    return _json(Removed(id=account_id, removed=removed))


# --- health --------------------------------------------------------------------------------


async def health_of(rt: Runtime) -> HealthOut:
    from grokgate import metrics

    store = await rt.store()
    accounts = await store.list_accounts()
    signer = rt.statsig_signer()
    pair = await signer.pair() if hasattr(signer, "pair") else None
    now = time.time()
    statsig = StatsigOut(
        kind=signer.kind,
        source=pair.source if pair else None,
        set_at=pair.set_at or None if pair else None,
        age_seconds=round(now - pair.set_at) if pair and pair.set_at else None,
        header_hint=pair.header_hex[:8] + "…" if pair else None,
    )
    proxies = [ProxyOut(key="direct", state="live", failures=0, last_error=None)]
    if rt.settings.proxies:
        pool = rt.egress_pool()
        clock = pool.clock()
        proxies = [
            ProxyOut(
                key=st.key,
                state="dead" if st.dead(clock) else "resting" if st.resting(clock) else "live",
                failures=st.failures,
                last_error=redact(st.last_error) if st.last_error else None,
            )
            for st in pool.states()
        ]
    counters = [
        CounterOut(name=name, dimensions=dims, count=n) for name, dims, n in metrics.snapshot()
    ]
    return HealthOut(
        statsig=statsig,
        proxies=proxies,
        counters=counters,
        pool=HealthOut.summary(accounts, now),
    )


@router.get("/api/health", response_model=HealthOut)
async def health(request: Request) -> Response:
    return _json(await health_of(runtime_of(request)))


@router.get("/api/doctor")
@router.get("/doctor")  # the doctor issue's endpoint, kept
async def doctor(request: Request, account: str | None = None) -> dict[str, Any]:
    """:func:`grokgate.doctor.diagnose`: one cheap call per link of the chain to grok.com."""
    from grokgate.doctor import diagnose

    report = await diagnose(runtime_of(request), account)
    doc = report.as_json()
    for check in doc["checks"]:
        check["detail"] = redact(check["detail"])
    return doc


# --- jobs ----------------------------------------------------------------------------------


@router.get("/api/jobs", response_model=JobList)
async def list_jobs(
    request: Request,
    after: str | None = None,
    limit: int = Query(50),
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    """Every client key's video jobs, newest first."""
    jobs = await runtime_of(request).job_store()
    page, more = await jobs.list_all(after=after, limit=limit, order=order)
    data = [JobOut.of(job) for job in page]
    return _json(JobList(data=data, has_more=more, last_id=data[-1].id if data else None))


@router.get("/api/jobs/{job_id}/content")
async def job_content(job_id: str, request: Request, variant: str = "video") -> Response:
    """The job's file: a redirect to a fresh signed URL (S3), or the bytes."""
    rt = runtime_of(request)
    job = await (await rt.job_store()).get(job_id)
    if job is None:
        raise NotFoundError(f"No job {job_id!r}", param="job_id")
    service = await rt.video_service()
    content = await service.content(
        job_id, owner=job.owner, variant=variant, base_url=public_base_url(request)
    )
    if content.url is not None:
        return RedirectResponse(content.url, status_code=302)
    assert content.data is not None
    return Response(
        content.data,
        media_type=content.mime,
        headers={"Content-Disposition": f'inline; filename="{content.filename}"'},
    )
