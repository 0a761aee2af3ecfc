"""``until``: an upstream's items bounded by the request deadline, silence included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from grokgate.upstream.http import until


class Source:
    """Yields ``items``, then waits ``then_wait`` seconds (a silent upstream) and ends."""

    def __init__(self, items: list[int], then_wait: float = 0.0) -> None:
        self.items = items
        self.then_wait = then_wait
        self.closed = False

    async def stream(self) -> AsyncIterator[int]:
        try:
            for item in self.items:
                yield item
            await asyncio.sleep(self.then_wait)
        finally:
            self.closed = True


def deadline_in(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


async def test_items_pass_until_the_source_ends() -> None:
    source = Source([1, 2, 3])
    assert [i async for i in until(deadline_in(5), source.stream())] == [1, 2, 3]
    assert source.closed


async def test_a_silent_source_past_the_deadline_is_a_timeout() -> None:
    source = Source([1, 2], then_wait=30)
    seen: list[int] = []
    with pytest.raises(TimeoutError):
        async for item in until(deadline_in(0.1), source.stream()):
            seen.append(item)
    assert seen == [1, 2] and source.closed


async def test_a_deadline_already_past_is_a_timeout_at_the_first_wait() -> None:
    source = Source([1, 2, 3], then_wait=30)
    with pytest.raises(TimeoutError):
        async for _ in until(deadline_in(-1), source.stream()):
            pass
    assert source.closed
