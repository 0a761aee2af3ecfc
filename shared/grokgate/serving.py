"""What ``grokgate serve`` adds to uvicorn: a deadline for a request's line and headers, and an
event loop that worker threads do not starve (:func:`responsive_loop`).

uvicorn times out idle keep-alive connections only: a client that connects and sends nothing,
or half a request line, or headers without their end, holds its socket for ever. The protocol
class made by :func:`header_timeout_protocol` (uvicorn's own, httptools or h11, subclassed)
closes a connection whose request line and headers are not complete ``seconds`` after the
connection opened, or after the first byte of a following request on a kept-alive connection.
The body has its own limit (:class:`grokgate.api.limits.BodyReadTimeout`).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from typing import Any

SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005


def responsive_loop() -> None:
    """Keep the event loop answering while worker threads do CPU-heavy work (a big body's
    parse, translation, token count), which holds the GIL:

    - the GIL is handed back to a waiting thread after :data:`SWITCH_INTERVAL` instead of
      5 ms: the loop waits for it at each wake-up, several times per request;
    - once the tokenizer is built, everything alive is frozen out of the cyclic collector
      (``gc.freeze``), whose full collections otherwise walked the start-up heap and the
      encoder, 20-55 ms under the GIL, from whichever thread happened to trigger one.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    threading.Thread(target=_settle_heap, name="settle-heap", daemon=True).start()


def _settle_heap() -> None:
    from grokgate.core.usage import warm_up

    warm_up()
    gc.collect()
    gc.freeze()


def _base_protocol() -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol  # httptools if installed, else h11

    return AutoHTTPProtocol


class HeaderDeadline:
    """Mixin over a uvicorn HTTP protocol (which sets ``self.cycle`` when a request's headers
    are complete and ``self.transport`` on connection)."""

    header_timeout: float = 15.0
    cycle: Any
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._deadline is None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        # after a WebSocket upgrade the transport belongs to another protocol
        if self.transport.get_protocol() is self and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        between = before is None or before.response_complete  # so these bytes begin a request
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not before:
            self._disarm()  # a request's headers are complete
        elif between and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


def header_timeout_protocol(
    seconds: float, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (``base``, default: what ``http="auto"`` picks) with a
    ``seconds`` deadline on every request's line and headers; pass it as ``http=``."""
    parent = base or _base_protocol()
    namespace = {"header_timeout": seconds, "__module__": __name__}
    return type(f"HeaderDeadline{parent.__name__}", (HeaderDeadline, parent), namespace)
