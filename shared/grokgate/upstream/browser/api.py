"""The browser transport's interface: what the grok.com clients see, whatever library is
underneath. Requests are bytes in, a status, headers and a byte stream out; WebSockets are text
frames. Every failure is an error of grokgate's own tree (:class:`~grokgate.errors.TransportError`
and its subclasses), mapped at the implementation's boundary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from grokgate.errors import TransportError
from grokgate.upstream.browser.profiles import Fingerprint

DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class Egress:
    """Where one account's traffic leaves from, and who it says it is there.

    ``key`` names the egress in the store, logs and errors: ``direct`` or the proxy's
    ``host:port``. ``proxy`` is the proxy's URL with its credentials (a secret). ``cf_cookies``
    is the Cloudflare clearance earned through this egress (``name=value; …``), and
    ``fingerprint`` the profile and User-Agent it was earned with (a clearance is bound to both).
    """

    fingerprint: Fingerprint
    key: str = DIRECT
    proxy: str | None = field(default=None, repr=False)
    cf_cookies: str | None = field(default=None, repr=False)


class Response(Protocol):
    """A streamed answer: its status, its headers (lower-case names) and its body."""

    status_code: int
    headers: Mapping[str, str]

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives, decoded (gzip, br, zstd); :class:`TransportError` if the
        connection breaks, :class:`~grokgate.errors.TransportTimeoutError` if it stalls."""
        ...


class Socket(Protocol):
    """An open WebSocket of text frames."""

    async def send(self, text: str) -> None: ...

    async def recv(self) -> str | bytes:
        """The next message; :class:`SocketClosed` once the peer closed."""
        ...

    async def close(self) -> None: ...


class SocketClosed(TransportError):
    """The WebSocket was closed (``close_code`` 1006: without a close frame)."""

    def __init__(self, message: str, *, close_code: int) -> None:
        super().__init__(message)
        self.close_code = close_code


class HandshakeRefused(Exception):
    """The server answered the WebSocket upgrade with an HTTP answer instead; the caller reads
    what that answer means (``status``, ``headers``, the start of ``body``)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        super().__init__(f"WebSocket handshake refused with HTTP {status}")
        self.status_code = status
        self.headers = headers
        self.body = body


class Browser(Protocol):
    """The one transport for grok.com (process-wide; no per-request state, no cookie jar)."""

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        egress: Egress,
        body: bytes | None = None,
        seconds: float | None = None,
    ) -> AbstractAsyncContextManager[Response]:
        """Send the request (``headers`` in the order given, after the pseudo-headers) and
        yield the answer once its headers arrived; leaving the block early cancels the request
        upstream. ``seconds`` bounds connecting and each silent stretch of the answer."""
        ...

    async def websocket(
        self, url: str, *, headers: Mapping[str, str], egress: Egress, seconds: float
    ) -> Socket:
        """The open socket; :class:`HandshakeRefused` for an HTTP answer instead of the
        upgrade, :class:`TransportError` for every other way the handshake fails."""
        ...

    async def aclose(self) -> None: ...
