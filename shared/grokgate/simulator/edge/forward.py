"""Forward requests from the edge to the plain-HTTP backend (streamed both ways).

Request bodies go up as they arrive, response bodies come back with :meth:`httpx.Response.
aiter_raw` (no decoding, no buffering), so a streamed chat answer reaches the client chunk by
chunk. Hop-by-hop headers are dropped in both directions; ``x-edge-client-ip`` is set by the
edge (a client-supplied one is dropped); HTTP/2 cookie crumbs are joined into one header;
``Expect: 100-continue`` is answered by the edge itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from http.cookiejar import CookieJar
from typing import Any

import httpx

__all__ = [
    "CLIENT_IP_HEADER",
    "HOP_BY_HOP",
    "Backend",
    "request_headers",
    "response_headers",
    "websocket_head",
]

CLIENT_IP_HEADER = "x-edge-client-ip"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
    }
)


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in ``Connection`` (hop-by-hop too, RFC 9110 §7.6.1)."""
    names: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            names.update(t.strip().lower() for t in value.split(",") if t.strip())
    return names


def request_headers(
    headers: list[tuple[str, str]], client_ip: str, authority: str | None = None
) -> list[tuple[str, str]]:
    """Headers to send to the backend: hop-by-hop removed, ``host`` from ``authority`` when
    given (HTTP/2), cookies joined, ``x-edge-client-ip`` appended."""
    drop = HOP_BY_HOP | _connection_tokens(headers) | {CLIENT_IP_HEADER, "expect"}
    out: list[tuple[str, str]] = []
    cookies: list[str] = []
    has_host = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in drop:
            continue
        if lowered == "cookie":
            cookies.append(value)
            continue
        if lowered == "host":
            if authority is not None or has_host:
                continue
            has_host = True
        out.append((name, value))
    if authority is not None:
        out.insert(0, ("host", authority))
    if cookies:
        out.append(("cookie", "; ".join(cookies)))
    out.append((CLIENT_IP_HEADER, client_ip))
    return out


def response_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The backend's response headers without hop-by-hop ones, names lower-cased."""
    pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
    drop = HOP_BY_HOP | _connection_tokens(pairs)
    return [(k, v) for k, v in pairs if k not in drop]


def websocket_head(
    method: str, target: str, headers: list[tuple[str, str]], client_ip: str
) -> bytes:
    """An HTTP/1.1 upgrade request head, verbatim but for ``x-edge-client-ip``."""
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() != CLIENT_IP_HEADER]
    lines.append(f"{CLIENT_IP_HEADER}: {client_ip}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _NoCookies(CookieJar):
    """The edge is no browser: never store the backend's cookies."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


class Backend:
    """The plain-HTTP backend behind the edge (``http://127.0.0.1:PORT``)."""

    def __init__(self, base_url: str, timeout: float = 300.0) -> None:
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        if self.base_url.scheme != "http":
            raise ValueError("the edge forwards to a plain http:// backend")
        self.host = self.base_url.host
        self.port = self.base_url.port or 80
        self._prefix = self.base_url.raw_path.rstrip(b"/")
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
            cookies=httpx.Cookies(_NoCookies()),
            follow_redirects=False,
            trust_env=False,
        )

    def url(self, target: str) -> httpx.URL:
        raw = target.encode("latin-1") if target.startswith("/") else b"/" + target.encode()
        return self.base_url.copy_with(raw_path=self._prefix + raw)

    async def send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: AsyncIterator[bytes] | None,
    ) -> httpx.Response:
        """Send a request; the response is streaming (read ``aiter_raw``, then ``aclose``)."""
        request = httpx.Request(method, self.url(target), headers=headers, content=body)
        return await self.client.send(request, stream=True)

    async def open_raw(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw TCP connection to the backend (WebSocket splicing)."""
        return await asyncio.open_connection(self.host, self.port)

    async def aclose(self) -> None:
        await self.client.aclose()
