"""The shared async HTTP client for upstream calls (HTTP/2, built lazily by the runtime)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import aclosing
from http.cookiejar import DefaultCookiePolicy
from typing import Protocol, TypeVar

import httpx

from grokgate.errors import UpstreamError
from grokgate.upstream import h2cancel
from grokgate.upstream.decode import DecodeError, decoded

T = TypeVar("T")


def new_http_client(
    *, connect_timeout: float, idle_timeout: float, verify: str | bool = True
) -> httpx.AsyncClient:
    """One client per process, shared by every request; it holds no per-request state.

    ``verify``: a CA bundle file to trust instead of the system's (a private upstream).

    Its cookie jar refuses every cookie: each account's cookies are sent explicitly per request,
    and a ``Set-Cookie`` from one account's answer must never ride along on another's request.
    Abandoned HTTP/2 streams are reset upstream (:mod:`.h2cancel`).
    """
    h2cancel.install()
    client = httpx.AsyncClient(
        http2=True,
        timeout=httpx.Timeout(connect=connect_timeout, read=idle_timeout, write=30.0, pool=30.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        follow_redirects=False,
        trust_env=False,
        verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify,
    )
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return client


class Streamed(Protocol):
    """An answer whose body arrives in chunks (httpx's, or the browser transport's)."""

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


async def _raw_decoded(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:  # read in full already (a test's mock answer): decoded
        yield response.content
        return
    try:
        async for piece in decoded(response.aiter_raw(), response.headers.get("content-encoding")):
            yield piece
    except DecodeError as exc:
        raise httpx.DecodingError(str(exc), request=response.request) from exc


def body_of(response: Streamed) -> AsyncIterator[bytes]:
    """The decoded body of ``response`` in pieces. httpx inflates each network chunk in full
    (a decompression bomb grows the process by gigabytes before a cap sees it), so an httpx
    answer's raw bytes are decoded here, only as far as the reader reads (:mod:`.decode`); a
    body it cannot decode is an :class:`httpx.DecodingError`. The browser transport decodes
    its own answers the same way."""
    if isinstance(response, httpx.Response):
        return _raw_decoded(response)
    return response.aiter_bytes()


async def read_capped(response: Streamed, limit: int) -> bytes:
    """The body of a streamed ``response``, read until it ends or grows past ``limit`` bytes:
    a result longer than ``limit`` means the body is larger (nothing further is read, nor
    decoded)."""
    data = bytearray()
    async with aclosing(body_of(response)) as pieces:  # type: ignore[type-var]
        async for chunk in pieces:
            data += chunk
            if len(data) > limit:
                break
    return bytes(data)


async def read_body(response: Streamed, limit: int, *, too_large: str) -> bytes:
    """The whole body of a streamed ``response``; one larger than ``limit`` bytes is an
    :class:`UpstreamError` saying ``too_large`` (and is not read further)."""
    data = await read_capped(response, limit)
    if len(data) > limit:
        raise UpstreamError(too_large)
    return data


async def until(deadline_at: float, source: AsyncIterator[T]) -> AsyncIterator[T]:
    """The items of ``source`` until the event loop's clock passes ``deadline_at``; then
    :class:`TimeoutError`, even while ``source`` is silent (an idle timeout alone would wait)."""
    async with aclosing(source):  # type: ignore[type-var]
        while True:
            async with asyncio.timeout_at(deadline_at):
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    return
            yield item
