"""CurlBrowser against raw loopback servers: no shared cookie jar, early close cancels the
transfer, errors mapped into grokgate's tree (a proxy's failure names the proxy, never its
credentials), a silent WebSocket handshake is bounded, a refused upgrade keeps its body."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from grokgate.errors import EgressError, TransportError, TransportTimeoutError
from grokgate.simulator.proxies import ConnectProxy
from grokgate.upstream.browser.api import Egress, HandshakeRefused
from grokgate.upstream.browser.curl import CurlBrowser
from tests.upstream.browser_support import FINGERPRINT

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
DIRECT = Egress(FINGERPRINT)


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


@pytest.fixture
async def browser() -> AsyncIterator[CurlBrowser]:
    browser = CurlBrowser(connect_timeout=2.0, idle_timeout=5.0)
    yield browser
    await browser.aclose()


async def test_no_cookie_rides_from_one_answer_to_another_request(browser: CurlBrowser) -> None:
    cookies: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode().lower().split("\r\n")
            cookies.append(next((x for x in lines if x.startswith("cookie:")), ""))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                b"Set-Cookie: session=of-account-a; Path=/\r\n\r\nok"
            )
            await writer.drain()

    async with serving(handler) as where:
        for token in ("a", "b"):
            async with browser.stream(
                "GET", f"http://{where}/", headers={"cookie": f"sso={token}"}, egress=DIRECT
            ) as answer:
                assert [c async for c in answer.aiter_bytes()] == [b"ok"]
    assert cookies == ["cookie: sso=a", "cookie: sso=b"]


async def test_leaving_a_stream_early_cancels_the_transfer(browser: CurlBrowser) -> None:
    sent: list[int] = []
    gone = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for i in range(200):
                writer.write(b"5\r\nchunk\r\n")
                await writer.drain()
                sent.append(i)
                await asyncio.sleep(0.02)
        except ConnectionError:
            gone.set()

    async with serving(handler) as where:
        async with browser.stream("GET", f"http://{where}/", headers={}, egress=DIRECT) as answer:
            async for _ in answer.aiter_bytes():
                break
        await asyncio.wait_for(gone.wait(), 3)
    assert len(sent) < 50  # stopped long before the 200 chunks


async def test_decoded_bodies_and_connection_errors(browser: CurlBrowser) -> None:
    import gzip

    body = gzip.compress(b"x" * 5000)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        await writer.drain()
        writer.close()

    async with serving(handler) as where:
        headers = {"accept-encoding": "gzip, deflate, br, zstd"}
        async with browser.stream("GET", f"http://{where}/", headers=headers, egress=DIRECT) as a:
            assert b"".join([c async for c in a.aiter_bytes()]) == b"x" * 5000
    with pytest.raises(TransportError, match=r"could not reach grok\.com") as info:
        async with browser.stream("GET", "http://127.0.0.1:1/", headers={}, egress=DIRECT):
            pass
    assert not isinstance(info.value, EgressError)


async def test_a_proxys_failures_name_the_proxy_and_never_its_credentials(
    browser: CurlBrowser,
) -> None:
    async with ConnectProxy(username="gg", password="right-pa55") as proxy:
        wrong = Egress(FINGERPRINT, key="p", proxy=proxy.url_with("gg", "wrong-pa55"))
        # an https target is tunnelled: curl's CONNECT fails with the 407
        with pytest.raises(EgressError) as tunnel:
            async with browser.stream("GET", "https://127.0.0.1:9/", headers={}, egress=wrong):
                pass
        # a plain-http target is sent in absolute form: the 407 comes back as an answer
        with pytest.raises(EgressError) as absolute:
            async with browser.stream("GET", "http://127.0.0.1:9/", headers={}, egress=wrong):
                pass
        host = proxy.url.rsplit("@", 1)[1].rstrip("/")
        dead = Egress(FINGERPRINT, key="p", proxy=proxy.url)
    for error in (tunnel.value, absolute.value):
        assert host in error.message and "credentials" in error.message
        assert "pa55" not in error.message and error.egress == "p"
    with pytest.raises(EgressError, match="refused the connection"):  # the proxy is gone
        async with browser.stream("GET", "https://127.0.0.1:9/", headers={}, egress=dead):
            pass


async def test_a_silent_websocket_handshake_is_bounded(browser: CurlBrowser) -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.close()

    async with serving(handler) as where:
        started = time.monotonic()
        with pytest.raises(TransportTimeoutError):
            await browser.websocket(f"ws://{where}/ws", headers={}, egress=DIRECT, seconds=1)
        assert time.monotonic() - started < 4
        release.set()


async def test_a_refused_upgrade_keeps_its_status_headers_and_body(browser: CurlBrowser) -> None:
    body = b'{"error":{"code":7,"message":"Request rejected by anti-bot rules."}}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        writer.close()

    async with serving(handler) as where:
        with pytest.raises(HandshakeRefused) as info:
            await browser.websocket(f"ws://{where}/ws", headers={}, egress=DIRECT, seconds=2)
    assert info.value.status_code == 403
    assert info.value.headers["content-type"] == "application/json"
    assert info.value.body == body
