"""The one SSE writer: every streamed surface goes through :func:`sse_response`.

Keep-alive comments (``: ping``) go out every ``ping`` seconds while the upstream is silent, so
idle timeouts on the path (API Gateway, load balancers, client SDKs) never cut a long think.
A client that goes away cancels the source iterator, which releases the account lease.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def data_event(data: str, event: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(data=data, event=event)


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping")


def sse_response(
    source: AsyncIterator[ServerSentEvent], *, ping: float, headers: dict[str, str] | None = None
) -> EventSourceResponse:
    return EventSourceResponse(
        source,
        ping=ping,
        sep="\n",
        ping_message_factory=_ping,
        headers={**SSE_HEADERS, **(headers or {})},
    )
