"""Starting a streamed answer: every streaming route waits for the first event first.

Until an upstream has accepted the request (the first event is ``Served``), a failure can still
be a proper HTTP error with its status; after that the response has begun, and each surface
ends its stream with an error event instead.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from grokgate.errors import UpstreamStreamError
from grokgate.events import Event


async def begin(events: AsyncGenerator[Event, None]) -> AsyncIterator[Event]:
    """Wait for the first event, then give back the whole stream (closing it closes ``events``).

    Errors raised before the first event propagate here, with ``events`` closed.
    """
    try:
        first = await anext(events)
    except StopAsyncIteration:
        raise UpstreamStreamError("the upstream answer ended before it began") from None
    except BaseException:
        await events.aclose()
        raise
    return _chain(first, events)


async def _chain(first: Event, rest: AsyncGenerator[Event, None]) -> AsyncIterator[Event]:
    async with aclosing(rest):
        yield first
        async for event in rest:
            yield event
