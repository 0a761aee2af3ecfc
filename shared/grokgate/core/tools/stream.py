"""PLACEHOLDER (being replaced): the tool sieve applied to an event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grokgate.core.tools.spec import ToolSet
from grokgate.events import Event


async def sieve_events(events: AsyncIterator[Event], tools: ToolSet) -> AsyncIterator[Event]:
    async for event in events:
        yield event
