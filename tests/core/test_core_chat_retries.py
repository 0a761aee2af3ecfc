"""ChatService retries before visible output, and the final errors."""

from __future__ import annotations

import pytest

from grokgate.errors import (
    NoAccountAvailableError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStreamError,
)
from grokgate.events import ReasoningDelta, Served, TextDelta
from grokgate.stores.records import ModeQuota
from tests.core.chat_support import (
    SERVED,
    Finished,
    Harness,
    collect,
    collect_until_error,
    rate_limited,
)


@pytest.fixture
def h(chat_harness: Harness) -> Harness:
    return chat_harness


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
