"""The one lease → call → feedback → retry loop, for calls and for streams.

Every upstream use goes through here: take the best account for the model, run the work on it,
tell the pool what happened, and on an :class:`UpstreamError` that another account may not
repeat, try one not tried yet (``max_retries`` times). A cancelled call gives its slot back:
every release is :func:`~grokgate.shield.shielded`, so a client that went away (which cancels
the streaming task, level-triggered under anyio) cannot cut the release's store write short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TypeVar

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.registry import ModelSpec
from grokgate.errors import (
    GrokGateError,
    NoAccountAvailableError,
    RateLimitError,
    UpstreamError,
    UpstreamRateLimitError,
    Verdict,
)
from grokgate.events import Served
from grokgate.logs import get_logger
from grokgate.shield import shielded
from grokgate.stores.records import Account, Lease

T = TypeVar("T")
E = TypeVar("E")
log = get_logger("attempts")


def final_error(failures: list[UpstreamError]) -> GrokGateError:
    """The error the client sees once no (further) account can be tried."""
    last = failures[-1]
    if all(f.verdict is Verdict.RATE_LIMITED for f in failures):
        waits = [f.retry_after for f in failures if f.retry_after is not None]
        return UpstreamRateLimitError(
            f"every account tried is rate limited upstream: {last.message}",
            upstream_status=last.upstream_status,
            retry_after=min(waits) if waits else 60.0,
        )
    return last


def _give_up(failures: list[UpstreamError], exc: UpstreamError) -> GrokGateError:
    final = final_error(failures)
    return exc if final is exc else final


async def _lease(
    pool: AccountPool, spec: ModelSpec, tried: set[str], failures: list[UpstreamError]
) -> tuple[Account, Lease]:
    try:
        return await pool.lease(spec, frozenset(tried))
    except (NoAccountAvailableError, RateLimitError) as exc:
        if failures:
            raise final_error(failures) from exc
        raise


async def with_account(
    pool: AccountPool,
    spec: ModelSpec,
    work: Callable[[Account], Awaitable[T]],
    *,
    max_retries: int,
) -> T:
    """``work(account)`` on the best account for ``spec``, retried as the module says."""
    tried: set[str] = set()
    failures: list[UpstreamError] = []
    for attempt in range(1, max_retries + 2):
        account, lease = await _lease(pool, spec, tried, failures)
        tried.add(account.id)
        finished = False
        try:
            async with pool.holding(account, lease):
                result = await work(account)
            finished = True
            await shielded(pool.finish(account, lease))
            return result
        except UpstreamError as exc:
            finished = True
            await shielded(pool.finish(account, lease, exc))
            failures.append(exc)
            if not exc.retryable or attempt > max_retries:
                final = _give_up(failures, exc)
                if final is exc:
                    raise
                raise final from exc
            log.info("%s: retrying on another account after: %s", spec.id, exc.message)
        finally:
            if not finished:  # cancelled, or a bug: the slot comes back, nothing is learned
                await shielded(pool.finish(account, lease, abandoned=True))
    raise final_error(failures)  # pragma: no cover - the loop always returns or raises


async def stream_with_account(
    pool: AccountPool,
    spec: ModelSpec,
    work: Callable[[Account, Lease], AsyncIterator[E]],
    *,
    visible: Callable[[E], bool],
    max_retries: int,
) -> AsyncIterator[E]:
    """The events of ``work(account, lease)``, retried as the module says while nothing
    ``visible`` has reached the client yet.

    ``work`` yields :class:`Served` once its upstream accepted the request (the query is spent
    from then on even if the stream fails); only the first attempt's ``Served`` is passed on,
    with the number of attempts it took. The lease is held, and extended while the stream
    lasts (:meth:`AccountPool.holding`), until it ends.
    """
    tried: set[str] = set()
    failures: list[UpstreamError] = []
    served = False
    for attempt in range(1, max_retries + 2):
        account, lease = await _lease(pool, spec, tried, failures)
        tried.add(account.id)
        shown = accepted = finished = False
        try:
            async with (
                pool.holding(account, lease),
                aclosing(work(account, lease)) as events,  # type: ignore[type-var]
            ):
                async for event in events:
                    if isinstance(event, Served):
                        accepted = True
                        if served:
                            continue
                        served = True
                        event.attempts = attempt
                    elif visible(event):
                        shown = True
                    yield event
            finished = True
            await shielded(pool.finish(account, lease))
            return
        except UpstreamError as exc:
            finished = True
            await shielded(pool.finish(account, lease, exc, accepted=accepted))
            failures.append(exc)
            if shown or not exc.retryable or attempt > max_retries:
                final = _give_up(failures, exc)
                if final is exc:
                    raise
                raise final from exc
            log.info("%s: retrying on another account after: %s", spec.id, exc.message)
        finally:
            if not finished:  # the client went away, or a bug: give the slot back
                await shielded(pool.finish(account, lease, accepted=accepted, abandoned=True))
    raise final_error(failures)  # pragma: no cover - the loop always returns or raises
