"""ChatService when the consumer closes or is cancelled: leases are released."""

from __future__ import annotations

import asyncio

import pytest

from grokgate.core.chat import ChatJob, ChatService
from grokgate.errors import UpstreamError
from grokgate.events import Event, Served, TextDelta
from tests.core.chat_support import SPEC, FakeUpstream, Harness


@pytest.fixture
def h(chat_harness: Harness) -> Harness:
    return chat_harness


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
        async def chat(self, account, message, mode, *, show_reasoning=True, attachments=()):
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
        async def chat(self, account, message, mode, *, show_reasoning=True, attachments=()):
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
