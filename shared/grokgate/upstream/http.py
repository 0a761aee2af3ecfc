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


async def read_capped(response: Streamed, limit: int) -> bytes:
    """The body of a streamed ``response``, read until it ends or grows past ``limit`` bytes:
    a result longer than ``limit`` means the body is larger (nothing further is read)."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
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
