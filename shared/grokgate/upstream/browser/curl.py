"""The browser transport on curl_cffi: Chrome's TLS hello and HTTP/2 preface (``impersonate=``),
HTTP/2 over TLS, HTTP/1.1 for plain-http upstreams (a simulator), WebSockets on the same hello.

- No cookie jar: every request carries its account's cookies explicitly, and a ``Set-Cookie``
  from one answer never rides along on another account's request (``discard_cookies``).
- No default headers of curl_cffi's (they are a page navigation's): the clients send the
  headers a ``fetch()`` from grok.com sends, in Chrome's order.
- Bodies are decoded by us, not by curl, with bounded output (:mod:`grokgate.upstream.decode`),
  so a decompression bomb stops at the reader's cap.
- Leaving a stream early removes the transfer from curl's multi handle, which resets the HTTP/2
  stream upstream (or closes an HTTP/1.1 connection), so grok.com stops answering nobody.
- curl_cffi's exceptions become grokgate's (:func:`map_error`), at this boundary only; a proxy's
  failure is an :class:`~grokgate.errors.EgressError` naming the proxy by host and port.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from curl_cffi import CurlECode, CurlError, CurlOpt
from curl_cffi.requests import AsyncSession
from curl_cffi.requests.exceptions import RequestException
from curl_cffi.requests.websockets import WebSocketClosed, WebSocketError

from grokgate.errors import EgressError, TransportError, TransportTimeoutError
from grokgate.logs import get_logger
from grokgate.upstream.browser.api import Egress, HandshakeRefused, SocketClosed
from grokgate.upstream.decode import DecodeError, decoded

log = get_logger("browser")

MAX_CLIENTS = 200  # concurrent transfers of the process
WS_MAX_MESSAGE = 16 * 1024 * 1024
REFUSAL_BODY_LIMIT = 64 * 1024
# Failures that happen at the proxy when one is used (curl's own codes).
_PROXY_CODES = {
    CurlECode.COULDNT_RESOLVE_PROXY,
    CurlECode.COULDNT_CONNECT,
    CurlECode.PROXY,
}
_TIMEOUT_CODES = {CurlECode.OPERATION_TIMEDOUT}
_PROXY_WORDS = ("proxy", "connect tunnel", "after connect", "socks")
_TUNNEL_STATUS = re.compile(r"connect tunnel failed, response (\d{3})")


def proxy_host(proxy: str) -> str:
    """``host:port`` of a proxy URL: how a proxy is named anywhere a person may read it."""
    parts = urlsplit(proxy)
    default = {"http": 80, "https": 443}.get(parts.scheme, 1080)
    return f"{parts.hostname}:{parts.port or default}"


def _code(exc: BaseException) -> int:
    code = getattr(exc, "code", 0)
    return int(code) if isinstance(code, int) else 0


def _is_timeout(exc: BaseException) -> bool:
    return _code(exc) in _TIMEOUT_CODES or "timed out" in str(exc).lower()


def map_error(exc: BaseException, egress: Egress, *, connected: bool) -> TransportError:
    """grokgate's error for a curl_cffi failure. ``connected``: the answer's headers had
    arrived (a failure after that is a broken stream, never the proxy's)."""
    text = str(exc).lower()
    code = _code(exc)
    if egress.proxy is not None and not connected:
        at_proxy = code in _PROXY_CODES or any(word in text for word in _PROXY_WORDS)
        if at_proxy or _is_timeout(exc):
            host = proxy_host(egress.proxy)
            tunnel = _TUNNEL_STATUS.search(text)
            if "407" in text or "rejected by the socks5" in text:
                why = "refused our credentials (HTTP 407 / SOCKS auth)"
            elif tunnel is not None:
                why = f"failed to open a tunnel (HTTP {tunnel.group(1)})"
            elif _is_timeout(exc):
                why = "did not answer in time"
            elif code == CurlECode.COULDNT_RESOLVE_PROXY:
                why = "could not be resolved"
            elif code == CurlECode.PROXY:
                why = f"failed to open a tunnel (SOCKS, curl error {code})"
            else:
                why = "refused the connection"
            return EgressError(f"the egress proxy {host} {why}", egress=egress.key)
    if _is_timeout(exc):
        phase = "reading grok.com's answer" if connected else "connecting to grok.com"
        return TransportTimeoutError(f"timed out {phase}")
    if connected:
        return TransportError(f"grok.com's answer broke off (curl error {code})")
    return TransportError(f"could not reach grok.com (curl error {code})")


class _Answer:
    """One streamed answer (the :class:`~grokgate.upstream.browser.api.Response`)."""

    def __init__(self, response: Any, egress: Egress) -> None:
        self.status_code: int = response.status_code
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in response.headers.items()}
        self._response = response
        self._egress = egress
        self.finished = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body, decoded here (curl hands over the raw bytes) a piece at a time and only as
        far as it is read: curl would inflate a whole network read into the unbounded queue
        between it and us before any cap saw it."""
        raw = self._response.aiter_content()
        try:
            async for piece in decoded(raw, self.headers.get("content-encoding")):
                yield piece
        except (RequestException, CurlError) as exc:
            raise map_error(exc, self._egress, connected=True) from exc
        except DecodeError as exc:
            raise TransportError(f"grok.com's answer could not be decoded ({exc})") from exc
        self.finished = True


class CurlBrowser:
    """:class:`~grokgate.upstream.browser.api.Browser` on one curl_cffi ``AsyncSession``.

    ``verify``: a CA bundle file to trust instead of the system's (``GROKGATE_GROK_CA_FILE``).
    ``connect_timeout`` bounds connecting (through the proxy, TLS included); ``idle_timeout``
    how long an answer may stay silent.
    """

    def __init__(
        self, *, connect_timeout: float, idle_timeout: float, verify: str | bool = True
    ) -> None:
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.verify = verify
        self._session: AsyncSession[Any] | None = None

    def _client(self) -> AsyncSession[Any]:
        if self._session is None:
            self._session = AsyncSession(
                max_clients=MAX_CLIENTS,
                discard_cookies=True,
                default_headers=False,
                allow_redirects=False,
                trust_env=False,
                verify=self.verify,
                # curl still sends the Accept-Encoding it is given (the fingerprint is
                # unchanged) but hands over the raw bytes: _Answer decodes them, bounded
                curl_options={CurlOpt.HTTP_CONTENT_DECODING: 0},
            )
        return self._session

    def _options(self, url: str, egress: Egress, headers: Mapping[str, str]) -> dict[str, Any]:
        https = url.startswith(("https://", "wss://"))
        encodings = next((v for k, v in headers.items() if k.lower() == "accept-encoding"), None)
        return {
            "headers": {k: v for k, v in headers.items() if k.lower() != "accept-encoding"},
            "impersonate": egress.fingerprint.profile,
            "default_headers": False,
            "http_version": "v2tls" if https else "v1",
            "proxy": egress.proxy,
            "verify": self.verify,
            # curl sends the header itself, where Chrome puts it (the answer is decoded by
            # _Answer, not by curl: HTTP_CONTENT_DECODING is off)
            "accept_encoding": encodings,
        }

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        egress: Egress,
        body: bytes | None = None,
        seconds: float | None = None,
    ) -> AsyncIterator[_Answer]:
        session = self._client()
        options = self._options(url, egress, headers)
        connect = min(seconds or self.connect_timeout, self.connect_timeout)
        try:
            response = await session.request(
                method,
                url,
                content=body,
                timeout=(connect, seconds or self.idle_timeout),
                stream=True,
                **options,
            )
        except (RequestException, CurlError) as exc:
            raise map_error(exc, egress, connected=False) from exc
        answer = _Answer(response, egress)
        if egress.proxy is not None and answer.status_code == 407:  # a plain-http target
            await _end(session, response)
            raise EgressError(
                f"the egress proxy {proxy_host(egress.proxy)} refused our credentials (HTTP 407)",
                egress=egress.key,
            )
        try:
            yield answer
        finally:
            await _end(session, response)

    async def websocket(
        self, url: str, *, headers: Mapping[str, str], egress: Egress, seconds: float
    ) -> _Socket:
        session = self._client()
        options = self._options(url, egress, headers)
        options["http_version"] = "v1"  # Chrome opens WebSockets over HTTP/1.1
        head: list[bytes] = []

        def keep(line: bytes) -> int:
            if sum(map(len, head)) < REFUSAL_BODY_LIMIT:
                head.append(bytes(line))
            return len(line)

        try:
            ws = await session.ws_connect(
                url,
                timeout=seconds,
                max_message_size=WS_MAX_MESSAGE,
                drain_on_error=True,  # frames that arrived before a broken close still count
                curl_options={
                    CurlOpt.HEADERFUNCTION: keep,
                    # curl's own timeout does not cover waiting for the 101 (a silent server
                    # kept the handshake, and a worker thread, for as long as it liked)
                    CurlOpt.LOW_SPEED_LIMIT: 1,
                    CurlOpt.LOW_SPEED_TIME: max(1, math.ceil(seconds)),
                },
                **options,
            )
        except (RequestException, CurlError) as exc:
            refusal = _refusal(head) if _code(exc) == CurlECode.HTTP_RETURNED_ERROR else None
            if refusal is not None:
                raise await self._with_body(refusal, url, headers, egress, seconds) from exc
            raise map_error(exc, egress, connected=False) from exc
        return _Socket(ws)

    async def _with_body(
        self,
        refusal: HandshakeRefused,
        url: str,
        headers: Mapping[str, str],
        egress: Egress,
        seconds: float,
    ) -> HandshakeRefused:
        """curl stops reading at a refused upgrade, so the body that says why (a blocked user,
        an anti-bot code) is fetched by asking the same URL once more with a plain GET; it is
        kept only when that answer has the refusal's status."""
        if refusal.status_code < 400:
            return refusal
        http_url = "http" + url[2:] if url.startswith("ws") else url
        try:
            async with self.stream(
                "GET", http_url, headers=headers, egress=egress, seconds=seconds
            ) as answer:
                if answer.status_code != refusal.status_code:
                    return refusal
                body = bytearray()
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) >= REFUSAL_BODY_LIMIT:
                        break
        except TransportError:
            return refusal
        return HandshakeRefused(
            refusal.status_code, refusal.headers, bytes(body[:REFUSAL_BODY_LIMIT])
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _end(session: AsyncSession[Any], response: Any) -> None:
    """Finish a streamed transfer: read to its end already, or cancelled now (curl removes it
    from its multi handle: RST_STREAM on HTTP/2, a closed connection on HTTP/1.1)."""
    task: asyncio.Task[None] | None = getattr(response, "astream_task", None)
    if task is None:
        return
    if not task.done():
        curl = getattr(response, "curl", None)
        if curl is not None:
            session.acurl.remove_handle(curl)
    await asyncio.wait([task])


def _refusal(head: list[bytes]) -> HandshakeRefused | None:
    """The HTTP answer a refused upgrade carried: its status line and headers (curl stops
    there, so the body is not read: the verdict comes from the status and the headers)."""
    status = 0
    headers: dict[str, str] = {}
    for raw in head:
        line = raw.decode("latin-1").strip()
        if line.startswith("HTTP/"):
            parts = line.split()
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            headers = {}  # a later status line (after a 1xx) starts over
        elif ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if status < 200 or status == 101:
        return None
    return HandshakeRefused(status, headers, b"")


class _Socket:
    """A curl_cffi WebSocket as a :class:`~grokgate.upstream.browser.api.Socket`."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_str(text)
        except (WebSocketClosed, WebSocketError, CurlError) as exc:
            raise SocketClosed("the socket is closed", close_code=_close_code(exc)) from exc

    async def recv(self) -> str | bytes:
        try:
            data, _flags = await self._ws.recv()
        except WebSocketClosed as exc:
            raise SocketClosed("the peer closed the socket", close_code=_close_code(exc)) from exc
        except (WebSocketError, CurlError) as exc:
            raise SocketClosed("the socket broke", close_code=1006) from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return bytes(data)

    async def close(self) -> None:
        try:
            await self._ws.close(1000)
        except (WebSocketError, CurlError, RuntimeError) as exc:
            log.debug("closing a socket failed: %r", exc)


def _close_code(exc: BaseException) -> int:
    code = getattr(exc, "code", 0)
    try:
        value = int(code)
    except (TypeError, ValueError):
        return 1006
    return value if 1000 <= value <= 4999 else 1006
