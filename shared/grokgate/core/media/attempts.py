"""One media call on a leased account, retried on another account when that may help.

The same lease → call → feedback → retry loop as the chat service, for calls that return a
value instead of a stream of events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.chat import final_error
from grokgate.core.registry import ModelSpec
from grokgate.errors import NoAccountAvailableError, RateLimitError, UpstreamError
from grokgate.logs import get_logger
from grokgate.stores.records import Account

T = TypeVar("T")
log = get_logger("media")


async def with_account(
    pool: AccountPool,
    spec: ModelSpec,
    work: Callable[[Account], Awaitable[T]],
    *,
    max_retries: int,
) -> T:
    """``work(account)`` on the best account for ``spec``; an :class:`UpstreamError` that another
    account may not repeat is retried (``max_retries`` times) on one not tried yet. The pool
    learns from every outcome; a cancelled call gives its slot back."""
    tried: set[str] = set()
    failures: list[UpstreamError] = []
    for attempt in range(1, max_retries + 2):
        try:
            account, lease = await pool.lease(spec, frozenset(tried))
        except (NoAccountAvailableError, RateLimitError) as exc:
            if failures:
                raise final_error(failures) from exc
            raise
        tried.add(account.id)
        finished = False
        try:
            result = await work(account)
            finished = True
            await pool.finish(account, lease)
            return result
        except UpstreamError as exc:
            finished = True
            await pool.finish(account, lease, exc)
            failures.append(exc)
            if not exc.retryable or attempt > max_retries:
                final = final_error(failures)
                if final is exc:
                    raise
                raise final from exc
            log.info("%s: retrying on another account after: %s", spec.id, exc.message)
        finally:
            if not finished:  # cancelled, or a bug: the slot comes back, nothing is learned
                await pool.finish(account, lease, abandoned=True)
    raise final_error(failures)  # pragma: no cover - the loop always returns or raises
