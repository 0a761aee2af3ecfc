"""The one SSE writer: every streamed surface goes through :func:`sse_response`, and
:func:`frame` is the only code that turns an event into bytes.

Lines end in ``\\n`` alone, as OpenAI's and Anthropic's streams do (the SSE spec also allows
``\\r\\n``, but line-based readers such as ``curl | while read`` or ``split("\\n\\n")`` expect
LF). The routes build :class:`ServerSentEvent` values (``data_event``); how sse-starlette would
encode them is never used. Relayed xAI events are re-framed here too, so an upstream that sends
``\\r\\n`` cannot leak it into our stream.

Keep-alive comments (``: ping``) go out every ``ping`` seconds while the upstream is silent, so
idle timeouts on the path (API Gateway, load balancers, client SDKs) never cut a long think.
A client that goes away cancels the source iterator, which releases the account lease.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing

from sse_starlette import EventSourceResponse, ServerSentEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def data_event(data: str, event: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(data=data, event=event)


def frame(event: ServerSentEvent) -> bytes:
    """``event`` on the wire: one ``field: value`` line per field (multi-line data and comments
    as several lines), each ending in ``\\n``, and a blank line after the event."""
    lines: list[str] = []
    if event.comment is not None:
        lines += [f": {part}" for part in _LINE_BREAK.split(str(event.comment))]
    if event.id is not None:
        lines.append("id: " + _LINE_BREAK.sub("", event.id))
    if event.event is not None:
        lines.append("event: " + _LINE_BREAK.sub("", event.event))
    if event.data is not None:
        lines += [f"data: {part}" for part in _LINE_BREAK.split(str(event.data))]
    if event.retry is not None:
        lines.append(f"retry: {int(event.retry)}")
    return ("\n".join(lines) + "\n\n").encode()


class _Framed(ServerSentEvent):
    """An event that sse-starlette writes itself (the keep-alive), encoded by :func:`frame`."""

    def encode(self) -> bytes:
        return frame(self)


def _ping() -> ServerSentEvent:
    return _Framed(comment="ping")


async def _framed(source: AsyncIterator[ServerSentEvent]) -> AsyncIterator[bytes]:
    async with aclosing(source):  # type: ignore[type-var]
        async for event in source:
            yield frame(event)


def sse_response(
    source: AsyncIterator[ServerSentEvent], *, ping: float, headers: dict[str, str] | None = None
) -> EventSourceResponse:
    return EventSourceResponse(
        _framed(source),
        ping=ping,
        sep="\n",
        ping_message_factory=_ping,
        headers={**SSE_HEADERS, **(headers or {})},
    )
