"""Starting a streamed answer: every streaming route waits for the first event first.

Until an upstream has accepted the request (the first event is ``Served``), a failure can still
be a proper HTTP error with its status; after that the response has begun, and each surface
ends its stream with an error event instead.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing

from grokgate.errors import UpstreamStreamError
from grokgate.events import Event, Finish


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


async def consume(events: AsyncIterator[Event], add: Callable[[Event], None]) -> None:
    """Feed every event of a non-streamed answer to ``add`` (closing ``events`` after).

    An answer that ends without :class:`Finish` is an upstream failure, never a short 200.
    """
    finished = False
    async with aclosing(events):  # type: ignore[type-var]
        async for event in events:
            add(event)
            finished = finished or isinstance(event, Finish)
    if not finished:
        raise UpstreamStreamError("the upstream answer ended without finishing")
