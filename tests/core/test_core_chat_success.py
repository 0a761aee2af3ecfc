"""ChatService success: Served first, then the answer, on the lease's mode."""

from __future__ import annotations

import pytest

from grokgate.core.chat import ChatJob
from grokgate.events import Finish, Served, TextDelta
from grokgate.stores.records import ModeQuota, Tier
from tests.core.chat_support import AUTO, SPEC, Finished, Harness, collect


@pytest.fixture
def h(chat_harness: Harness) -> Harness:
    return chat_harness


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
