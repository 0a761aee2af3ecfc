"""HTTP/2 responses the gateway stops reading are cancelled upstream (``RST_STREAM CANCEL``).

A client that goes away mid-stream makes the gateway close the upstream response. Over
HTTP/1.1 that closes the socket and the upstream sees it at once; httpcore 1.0 closes an
unfinished HTTP/2 response by forgetting the stream (encode/httpcore#943). The upstream then
goes on with an answer nobody reads (xAI bills it, grok.com spends the account's query), and
every byte it still sends is dropped without acknowledgement, so the connection's shared
flow-control window shrinks until every stream on it stalls.

:func:`install` (called once by :func:`grokgate.upstream.http.new_http_client`) wraps
httpcore's HTTP/2 body stream ``aclose``: when the stream is still open it acknowledges the
bytes already received but never read, resets the stream with ``CANCEL`` (h2 then acknowledges
and discards whatever the server had in flight) and writes that out, shielded from the
cancellation that is usually the reason for the close. It relies on httpcore internals, checked
when installing; if they changed, nothing is installed and a warning says so (the disconnect
tests in ``tests/api`` fail then, so an upgrade cannot lose this silently).
"""

from __future__ import annotations

from typing import Any

from grokgate.logs import get_logger

log = get_logger("h2cancel")
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    try:
        import anyio
        import h2.errors
        import h2.events
        import h2.exceptions
        from httpcore._async.http2 import AsyncHTTP2Connection, HTTP2ConnectionByteStream
    except ImportError:  # no HTTP/2 support installed: nothing to cancel
        return
    if not hasattr(AsyncHTTP2Connection, "_write_outgoing_data"):
        log.warning("httpcore changed: abandoned HTTP/2 streams are not cancelled upstream")
        return
    original = HTTP2ConnectionByteStream.aclose

    async def aclose(self: Any) -> None:
        if not self._closed:
            with anyio.CancelScope(shield=True):
                try:
                    await _cancel(self._connection, self._request, self._stream_id, h2)
                except h2.exceptions.StreamClosedError:
                    pass  # it ended meanwhile
                except Exception as exc:  # a close must never fail because of this
                    log.warning(
                        "could not cancel HTTP/2 stream %s upstream: %r", self._stream_id, exc
                    )
        await original(self)

    HTTP2ConnectionByteStream.aclose = aclose  # type: ignore[method-assign]


async def _cancel(connection: Any, request: Any, stream_id: int, h2: Any) -> None:
    state = connection._h2_state
    stream = state.streams.get(stream_id)
    if stream is None or stream.closed:  # the answer ended (or was reset): nothing to cancel
        return
    for event in connection._events.get(stream_id, ()):
        if isinstance(event, h2.events.DataReceived) and event.flow_controlled_length:
            state.acknowledge_received_data(event.flow_controlled_length, stream_id)
    state.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
    await connection._write_outgoing_data(request)
