"""ChatService: Served first, retries before visible output, lease hygiene, final errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.chat import ChatJob, ChatService
from grokgate.core.registry import ModelSpec, resolve
from grokgate.errors import (
    GrokGateError,
    NoAccountAvailableError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStreamError,
    Verdict,
)
from grokgate.events import Event, Finish, ReasoningDelta, Served, TextDelta
from grokgate.stores.records import Account, Lease, ModeQuota, Tier
from grokgate.stores.sqlite import SqliteAccountStore

SPEC = resolve("grok-4.20-0309-non-reasoning")  # fast, basic accounts can serve it
AUTO = resolve("grok-4.20-0309")  # auto, super and heavy accounts
SERVED = "served"  # script step: yield Served(...) for the account
OK = [SERVED, TextDelta("Hello"), TextDelta(" world"), Finish()]

Step = object  # SERVED, an Event, an exception instance, or a callable raising one


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeUpstream:
    """Plays a script per account id; records calls and generator closes."""

    transport = "fake"

    def __init__(self) -> None:
        self.scripts: dict[str, list[Step]] = {}
        self.calls: list[tuple[str, str, str, bool]] = []
        self.closed: list[str] = []

    async def chat(
        self, account: Account, message: str, mode: str, *, show_reasoning: bool = True
    ) -> AsyncIterator[Event]:
        self.calls.append((account.id, message, mode, show_reasoning))
        try:
            for step in self.scripts.get(account.id, OK):
                if step == SERVED:
                    yield Served(account=account.id, transport=self.transport)
                elif isinstance(step, BaseException):
                    raise step
                else:
                    yield step  # type: ignore[misc]
        finally:
            self.closed.append(account.id)

    @property
    def called(self) -> list[str]:
        return [c[0] for c in self.calls]


@dataclass(frozen=True)
class Finished:
    """One call of ``pool.finish``."""

    account: str
    lease: str
    error: UpstreamError | None
    accepted: bool
    abandoned: bool


class SpyPool(AccountPool):
    def __init__(self, store: SqliteAccountStore, clock: Clock) -> None:
        super().__init__(store, cooldown_seconds=900.0, clock=clock)
        self.leased: list[Lease] = []
        self.finished: list[Finished] = []

    async def lease(
        self, spec: ModelSpec, exclude: frozenset[str] = frozenset()
    ) -> tuple[Account, Lease]:
        account, lease = await super().lease(spec, exclude)
        self.leased.append(lease)
        return account, lease

    async def finish(
        self,
        account: Account,
        lease: Lease,
        error: UpstreamError | None = None,
        *,
        accepted: bool = True,
        abandoned: bool = False,
    ) -> None:
        self.finished.append(Finished(account.id, lease.id, error, accepted, abandoned))
        await super().finish(account, lease, error, accepted=accepted, abandoned=abandoned)

    @property
    def successes(self) -> list[str]:
        return [f.account for f in self.finished if f.error is None and not f.abandoned]

    @property
    def failures(self) -> list[tuple[str, UpstreamError]]:
        return [(f.account, f.error) for f in self.finished if f.error is not None]

    @property
    def abandoned(self) -> list[str]:
        return [f.account for f in self.finished if f.abandoned]

    @property
    def released(self) -> list[str]:
        """Accounts whose lease was given back, in order (every finish releases)."""
        return [f.account for f in self.finished]

    def assert_each_lease_finished_once(self) -> None:
        assert sorted(f.lease for f in self.finished) == sorted(lease.id for lease in self.leased)


@dataclass
class Harness:
    store: SqliteAccountStore
    pool: SpyPool
    upstream: FakeUpstream
    clock: Clock
    accounts: list[str] = field(default_factory=list)  # ids, in the order the pool picks them

    def service(self, max_retries: int = 1) -> ChatService:
        return ChatService(self.pool, self.upstream, max_retries=max_retries)

    async def add(self, n: int, tier: Tier = Tier.BASIC) -> list[str]:
        for i in range(n):
            await self.store.add_account(f"sso-token-{i:02d}-abcdef", tier)
        listed = sorted(a.id for a in await self.store.list_accounts())
        self.accounts = listed  # equal scores: the pool picks by id
        return listed

    def script(self, account_id: str, *steps: Step) -> None:
        self.upstream.scripts[account_id] = list(steps)

    async def get(self, account_id: str) -> Account:
        account = await self.store.get_account(account_id)
        assert account is not None
        return account

    async def assert_idle(self) -> None:
        """Every slot is back, and every lease was finished exactly once."""
        assert [a.inflight for a in await self.store.list_accounts()] == [0] * len(self.accounts)
        self.pool.assert_each_lease_finished_once()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = Clock()
    store = SqliteAccountStore(tmp_path / "chat.db", clock=clock)
    pool = SpyPool(store, clock)
    yield Harness(store, pool, FakeUpstream(), clock)
    await pool.aclose()
    await store.close()


async def collect(service: ChatService, job: ChatJob | None = None) -> list[Event]:
    return [e async for e in service.stream(job or ChatJob(SPEC, "[user]: hi"))]


async def collect_until_error(
    service: ChatService, job: ChatJob | None = None
) -> tuple[list[Event], GrokGateError]:
    events: list[Event] = []
    with pytest.raises(GrokGateError) as info:
        async for event in service.stream(job or ChatJob(SPEC, "[user]: hi")):
            events.append(event)
    return events, info.value


def rate_limited(retry_after: float | None) -> UpstreamError:
    return UpstreamError(
        "429 from grok.com",
        upstream_status=429,
        verdict=Verdict.RATE_LIMITED,
        retry_after=retry_after,
    )


# --- success -----------------------------------------------------------------------------


async def test_success_served_first_then_the_answer(h: Harness) -> None:
    [a] = await h.add(1)
    events = await collect(h.service(), ChatJob(SPEC, "[user]: hi", show_reasoning=False))
    assert events[0] == Served(account=a, transport="fake", attempts=1)
    assert events[1:] == [TextDelta("Hello"), TextDelta(" world"), Finish()]
    assert h.upstream.calls == [(a, "[user]: hi", "fast", False)]
    [lease] = h.pool.leased
    assert h.pool.finished == [Finished(a, lease.id, None, True, False)]
    await h.assert_idle()


async def test_success_improves_the_account(h: Harness) -> None:
    [a] = await h.add(1)
    await collect(h.service())
    account = await h.get(a)
    assert (account.fail_count, account.health, account.use_count) == (0, 1.0, 1)
    assert account.quotas["fast"].remaining == 29


async def test_the_upstream_is_called_with_the_leases_mode(h: Harness) -> None:
    [a] = await h.add(1, Tier.SUPER)
    spent = ModeQuota(remaining=0, total=50, window=7200, reset_at=h.clock.now + 3600)
    await h.store.sync_quotas(a, {"auto": spent})
    events = await collect(h.service(), ChatJob(AUTO, "[user]: hi"))
    assert events[0] == Served(account=a, transport="fake", attempts=1)
    assert [lease.mode for lease in h.pool.leased] == ["fast"]
    assert h.upstream.calls == [(a, "[user]: hi", "fast", True)]  # AUTO goes out as FAST
    account = await h.get(a)
    assert account.quotas["fast"].remaining == 139
    assert account.quotas["auto"].remaining == 0
    await h.assert_idle()


async def test_auto_goes_out_as_auto_while_its_window_lasts(h: Harness) -> None:
    [a] = await h.add(1, Tier.SUPER)
    await collect(h.service(), ChatJob(AUTO, "[user]: hi"))
    assert h.upstream.calls == [(a, "[user]: hi", "auto", True)]
    assert (await h.get(a)).quotas["auto"].remaining == 49


# --- retries -----------------------------------------------------------------------------


async def test_retryable_error_before_output_is_retried_on_another_account(h: Harness) -> None:
    a, b = await h.add(2)
    error = UpstreamError("502 from grok.com", upstream_status=502)
    h.script(a, error)
    events = await collect(h.service(max_retries=1))
    assert events[0] == Served(account=b, transport="fake", attempts=2)
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("Hello"),
        TextDelta(" world"),
    ]
    assert h.upstream.called == [a, b]
    assert h.pool.failures == [(a, error)]
    assert h.pool.successes == [b]
    assert h.pool.released == [a, b]
    assert h.pool.finished[0].accepted is False  # no Served: grok.com never took it
    failed = await h.get(a)
    assert failed.fail_count == 1
    assert failed.health == pytest.approx(0.75)
    assert failed.quotas["fast"].remaining == 30  # the reserved query came back
    await h.assert_idle()


async def test_in_band_error_after_served_but_before_text_is_retried(h: Harness) -> None:
    a, b = await h.add(2)
    h.script(a, SERVED, UpstreamStreamError("in-band error code 13"))
    events = await collect(h.service())
    served = [e for e in events if isinstance(e, Served)]
    assert len(served) == 1
    assert events[0] is served[0]
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("Hello"),
        TextDelta(" world"),
    ]
    assert h.upstream.called == [a, b]
    assert [acc for acc, _ in h.pool.failures] == [a]
    assert h.pool.finished[0].accepted is True  # Served seen: the query is spent
    assert (await h.get(a)).quotas["fast"].remaining == 29
    await h.assert_idle()


async def test_error_after_text_propagates_without_retry(h: Harness) -> None:
    a, _ = await h.add(2)
    error = UpstreamStreamError("stream broke")
    h.script(a, SERVED, TextDelta("Hel"), error)
    events, raised = await collect_until_error(h.service())
    assert raised is error
    assert events == [Served(account=a, transport="fake"), TextDelta("Hel")]
    assert h.upstream.called == [a]
    [lease] = h.pool.leased
    assert h.pool.finished == [Finished(a, lease.id, error, True, False)]
    await h.assert_idle()


async def test_error_after_reasoning_propagates_without_retry(h: Harness) -> None:
    a, _ = await h.add(2)
    error = UpstreamStreamError("stream broke")
    h.script(a, SERVED, ReasoningDelta("thinking"), error)
    _, raised = await collect_until_error(h.service())
    assert raised is error
    assert h.upstream.called == [a]
    await h.assert_idle()


async def test_non_retryable_error_is_not_retried(h: Harness) -> None:
    a, _ = await h.add(2)
    error = UpstreamError("the prompt was refused", retryable=False)
    h.script(a, error)
    events, raised = await collect_until_error(h.service())
    assert raised is error
    assert events == []
    assert h.upstream.called == [a]
    assert h.pool.failures == [(a, error)]
    await h.assert_idle()


async def test_max_retries_zero_means_one_attempt(h: Harness) -> None:
    a, _ = await h.add(2)
    h.script(a, UpstreamError("502"))
    _, raised = await collect_until_error(h.service(max_retries=0))
    assert raised.status == 502
    assert h.upstream.called == [a]
    assert len(h.pool.finished) == 1
    await h.assert_idle()


async def test_attempts_are_bounded_by_max_retries(h: Harness) -> None:
    ids = await h.add(4)
    for account_id in ids:
        h.script(account_id, UpstreamError(f"502 on {account_id}"))
    _, raised = await collect_until_error(h.service(max_retries=2))
    assert h.upstream.called == ids[:3]
    assert raised.message == f"502 on {ids[2]}"
    assert h.pool.released == ids[:3]
    await h.assert_idle()


async def test_all_attempts_rate_limited_is_a_429_with_the_smallest_retry_after(
    h: Harness,
) -> None:
    a, b = await h.add(2)
    h.script(a, rate_limited(120.0))
    h.script(b, rate_limited(30.0))
    events, raised = await collect_until_error(h.service())
    assert events == []
    assert isinstance(raised, UpstreamRateLimitError)
    assert raised.status == 429
    assert raised.retry_after == 30.0
    assert raised.upstream_status == 429
    assert h.upstream.called == [a, b]
    for account_id, wait in ((a, 120.0), (b, 30.0)):  # each spent its window until then
        quota = (await h.get(account_id)).quotas["fast"]
        assert (quota.remaining, quota.reset_at) == (0, h.clock.now + wait)
    await h.assert_idle()


async def test_rate_limited_without_retry_after_defaults_to_a_minute(h: Harness) -> None:
    a, b = await h.add(2)
    h.script(a, rate_limited(None))
    h.script(b, rate_limited(None))
    _, raised = await collect_until_error(h.service())
    assert isinstance(raised, UpstreamRateLimitError)
    assert raised.retry_after == 60.0
    await h.assert_idle()


async def test_mixed_failures_raise_the_last_upstream_error(h: Harness) -> None:
    a, b = await h.add(2)
    last = UpstreamError("502 from grok.com", upstream_status=502)
    h.script(a, rate_limited(10.0))
    h.script(b, last)
    _, raised = await collect_until_error(h.service())
    assert raised is last
    await h.assert_idle()


async def test_no_account_after_a_failure_raises_the_upstream_error(h: Harness) -> None:
    [a] = await h.add(1)
    error = UpstreamError("502 from grok.com", upstream_status=502)
    h.script(a, error)
    _, raised = await collect_until_error(h.service())
    assert raised is error
    assert raised.status == 502
    assert not isinstance(raised, NoAccountAvailableError)
    assert isinstance(raised.__cause__, NoAccountAvailableError)
    assert len(h.pool.finished) == 1
    await h.assert_idle()


async def test_no_account_after_a_rate_limit_is_a_429(h: Harness) -> None:
    [a] = await h.add(1)
    h.script(a, rate_limited(45.0))
    _, raised = await collect_until_error(h.service())
    assert isinstance(raised, UpstreamRateLimitError)
    assert raised.retry_after == 45.0
    await h.assert_idle()


async def test_no_account_at_all_is_a_503(h: Harness) -> None:
    events, raised = await collect_until_error(h.service())
    assert events == []
    assert isinstance(raised, NoAccountAvailableError)
    assert raised.status == 503
    assert h.upstream.calls == []
    assert h.pool.finished == []


async def test_every_window_spent_before_any_attempt_is_the_pools_429(h: Harness) -> None:
    [a] = await h.add(1)
    spent = ModeQuota(remaining=0, total=30, window=86400, reset_at=h.clock.now + 600)
    await h.store.sync_quotas(a, {"fast": spent})
    events, raised = await collect_until_error(h.service())
    assert events == []
    assert raised.status == 429
    assert raised.retry_after == pytest.approx(600.0)
    assert h.upstream.calls == []


async def test_unexpected_exception_releases_the_lease(h: Harness) -> None:
    [a] = await h.add(1)
    h.script(a, SERVED, RuntimeError("bug in the adapter"))
    with pytest.raises(RuntimeError):
        await collect(h.service())
    assert h.pool.failures == []
    assert h.pool.successes == []
    assert h.pool.abandoned == [a]
    assert h.pool.released == [a]
    await h.assert_idle()


# --- early close -------------------------------------------------------------------------


async def test_consumer_closing_early_releases_without_reporting(h: Harness) -> None:
    [a] = await h.add(1)
    stream = h.service().stream(ChatJob(SPEC, "[user]: hi"))
    seen: list[Event] = []
    async for event in stream:
        seen.append(event)
        if isinstance(event, TextDelta):
            break
    assert (await h.get(a)).inflight == 1
    assert h.pool.finished == []
    await stream.aclose()
    assert seen == [Served(account=a, transport="fake"), TextDelta("Hello")]
    assert h.upstream.closed == [a]
    assert h.pool.failures == []
    assert h.pool.successes == []
    assert h.pool.abandoned == [a]
    account = await h.get(a)
    assert (account.health, account.use_count, account.fail_count) == (1.0, 0, 0)
    await h.assert_idle()


async def test_consumer_closing_after_a_retry_releases_only_the_live_lease(h: Harness) -> None:
    a, b = await h.add(2)
    h.script(a, UpstreamError("502"))
    stream = h.service().stream(ChatJob(SPEC, "[user]: hi"))
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    assert h.pool.released == [a, b]
    assert [acc for acc, _ in h.pool.failures] == [a]
    assert h.pool.abandoned == [b]
    assert h.pool.successes == []
    await h.assert_idle()


async def test_cancelled_consumer_releases_the_lease(h: Harness) -> None:
    [a] = await h.add(1)
    never = asyncio.Event()

    class Hanging(FakeUpstream):
        async def chat(self, account, message, mode, *, show_reasoning=True):
            yield Served(account=account.id, transport=self.transport)
            await never.wait()
            yield TextDelta("never")

    service = ChatService(h.pool, Hanging())
    got_served = asyncio.Event()

    async def consume() -> None:
        async for event in service.stream(ChatJob(SPEC, "[user]: hi")):
            if isinstance(event, Served):
                got_served.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_served.wait(), 5)
    assert (await h.get(a)).inflight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.pool.abandoned == [a]
    assert h.pool.released == [a]
    assert h.pool.failures == []
    await h.assert_idle()


async def test_cancelled_before_served_releases_the_lease(h: Harness) -> None:
    [a] = await h.add(1)
    started = asyncio.Event()
    never = asyncio.Event()

    class Silent(FakeUpstream):
        async def chat(self, account, message, mode, *, show_reasoning=True):
            started.set()
            await never.wait()
            yield Served(account=account.id, transport=self.transport)

    service = ChatService(h.pool, Silent())

    async def consume() -> None:
        async for _ in service.stream(ChatJob(SPEC, "[user]: hi")):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.pool.abandoned == [a]
    await h.assert_idle()
