"""The tool sieve applied to an event stream (docs/grok-protocol.md §3.4).

Answer text goes through one :class:`~grokgate.core.tools.sieve.ToolSieve`; every other event
(reasoning, sources, ``Served``...) passes through in order. At ``Finish`` the sieve releases what
it still holds, and the finish reason becomes ``tool_calls`` when the answer called tools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace

from grokgate.core.tools.sieve import ToolSieve
from grokgate.core.tools.spec import ToolSet
from grokgate.events import Event, Finish, TextDelta


async def sieve_events(events: AsyncIterator[Event], tools: ToolSet) -> AsyncIterator[Event]:
    """``events`` with tool-call blocks turned into ToolCall events.

    A named ``tool_choice`` allows only that tool; a call to another one is shown as text. If
    the source ends without ``Finish``, what the sieve holds is released and the stream ends
    (the caller notices the missing ``Finish``). Closing this stream closes ``events``.
    """
    sieve = ToolSieve(tools)
    finished = False
    async with aclosing(events) as source:  # type: ignore[type-var]
        async for event in source:
            if finished:  # nothing should follow Finish; keep tool-call answers clean anyway
                if not (isinstance(event, TextDelta) and sieve.called):
                    yield event
            elif isinstance(event, TextDelta):
                for item in sieve.feed(event.text):
                    yield item
            elif isinstance(event, Finish):
                finished = True
                for item in sieve.finish():
                    yield item
                yield replace(event, reason="tool_calls") if sieve.called else event
            else:
                yield event
    if not finished:
        for item in sieve.finish():
            yield item
