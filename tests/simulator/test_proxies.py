"""Loopback egress proxies: curl_cffi and httpx through CONNECT, absolute-form and SOCKS5."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from curl_cffi.requests import AsyncSession
from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
from curl_cffi.requests.exceptions import ProxyError, Timeout
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from grokgate.simulator.proxies import ConnectProxy, ProxyThread, Socks5Proxy
from grokgate.simulator.server import ServerThread
from grokgate.simulator.xai_server import Http2ServerThread

APP = FastAPI()


@APP.api_route("/echo", methods=["GET", "POST"])
async def echo(request: Request) -> dict[str, object]:
    body = await request.body()
    assert request.client is not None
    return {"client": request.client.host, "headers": dict(request.headers), "body": len(body)}


@APP.get("/stream")
async def stream() -> StreamingResponse:
    async def ticks() -> AsyncIterator[bytes]:
        for _ in range(200):
            yield b"tick\n"
            await asyncio.sleep(0.02)

    return StreamingResponse(ticks())


@APP.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    assert websocket.client is not None
    await websocket.send_json({"client": websocket.client.host})
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    with ServerThread(APP, log_level="error") as server:  # chrome146 offers h2c: uvicorn warns
        yield server.url


@pytest.fixture(scope="module")
def tls() -> Iterator[Http2ServerThread]:
    with Http2ServerThread(APP, tls=True) as server:
        yield server


def curl(tls: Http2ServerThread, proxy: str, timeout: float = 5.0) -> AsyncSession:
    return AsyncSession(impersonate="chrome146", proxy=proxy, verify=tls.ca_file, timeout=timeout)


async def test_connect_proxy_curl_http_absolute_and_https_tunnel(
    plain: str, tls: Http2ServerThread
) -> None:
    async with (
        ConnectProxy(username="acct-a", password="p@ss:w", source_address="127.0.0.2") as proxy,
        curl(tls, proxy.url) as session,
    ):
        assert proxy.url.startswith("http://acct-a:p%40ss%3Aw@127.0.0.1:")
        for _ in range(2):  # Connection: close, then a fresh proxied connection
            seen = (await session.get(f"{plain}/echo")).json()
            assert seen["client"] == "127.0.0.2"
            assert not {"proxy-authorization", "proxy-connection", "upgrade"} & set(seen["headers"])
        posted = (await session.post(f"{plain}/echo", content=b"x" * 100_000)).json()
        assert posted["body"] == 100_000
        secure = await session.get(f"{tls.url}/echo")
        assert secure.json()["client"] == "127.0.0.2"
        assert secure.http_version == 3  # CURL_HTTP_VERSION_2_0: h2 inside the tunnel
    kinds = [r.kind for r in proxy.records]
    assert kinds == ["absolute", "absolute", "absolute", "connect"]
    for record in proxy.records:
        assert record.authenticated is True and record.outcome == "ok" and record.ended
        assert record.source is not None and record.source[0] == "127.0.0.2"
    assert proxy.records[3].target == ("127.0.0.1", int(tls.url.rsplit(":", 1)[1]))
    assert proxy.records[2].bytes_up > 100_000 and proxy.bytes_down > 0
    assert proxy.count(kind="absolute") == 3 and proxy.open_connections == 0


async def test_two_proxies_two_source_addresses_httpx(plain: str, tls: Http2ServerThread) -> None:
    async with (
        ConnectProxy(source_address="127.0.0.2") as a,
        ConnectProxy(source_address="127.0.0.3") as b,
    ):
        for proxy, source in ((a, "127.0.0.2"), (b, "127.0.0.3")):
            async with httpx.AsyncClient(proxy=proxy.url, verify=tls.client_ssl_context()) as c:
                assert (await c.get(f"{plain}/echo")).json()["client"] == source
                assert (await c.get(f"{tls.url}/echo")).json()["client"] == source
            assert [r.kind for r in proxy.records] == ["absolute", "connect"]
            assert proxy.records[0].authenticated is None  # no credentials configured


async def test_socks5_curl_domain_ipv4_and_ipv6(plain: str, tls: Http2ServerThread) -> None:
    async with Socks5Proxy(username="u", password="p", source_address="127.0.0.3") as proxy:
        assert proxy.url.startswith("socks5h://u:p@127.0.0.1:")
        async with curl(tls, proxy.url) as session:
            assert (await session.get(f"{plain}/echo")).json()["client"] == "127.0.0.3"
            localhost = tls.url.replace("127.0.0.1", "localhost")
            assert (await session.get(f"{localhost}/echo")).json()["client"] == "127.0.0.3"
        async with curl(tls, proxy.url_with("u", "p", "socks5")) as session:
            assert (await session.get(f"{tls.url}/echo")).json()["client"] == "127.0.0.3"
    assert [r.address_type for r in proxy.records] == ["ipv4", "domain", "ipv4"]
    assert proxy.records[1].target is not None and proxy.records[1].target[0] == "localhost"
    assert all(r.authenticated and r.source and r.source[0] == "127.0.0.3" for r in proxy.records)
    with ServerThread(APP, host="::1", log_level="error") as v6:
        async with Socks5Proxy() as proxy, curl(tls, proxy.url) as session:
            assert (await session.get(f"{v6.url}/echo")).json()["client"] == "::1"
            assert proxy.records[0].address_type == "ipv6"
        async with Socks5Proxy(source_address="127.0.0.2") as proxy, curl(tls, proxy.url) as s:
            with pytest.raises(ProxyError, match=r"\(97\).*\(5\)"):  # no IPv4 way to ::1
                await s.get(f"{v6.url}/echo")


async def test_wrong_credentials(plain: str, tls: Http2ServerThread) -> None:
    async with (
        ConnectProxy(username="u", password="p") as http,
        Socks5Proxy(username="u", password="p") as socks,
    ):
        async with curl(tls, http.url_with("u", "wrong")) as session:
            with pytest.raises(CurlConnectionError, match=r"\(7\) CONNECT tunnel failed, resp"):
                await session.get(f"{tls.url}/echo")
            refused = await session.get(f"{plain}/echo")  # absolute-form: a plain 407 answer
            assert refused.status_code == 407
            assert refused.headers["proxy-authenticate"] == 'Basic realm="grokgate-sim"'
        async with curl(tls, http.url_with()) as session:
            with pytest.raises(CurlConnectionError, match="response 407"):
                await session.get(f"{tls.url}/echo")
        async with httpx.AsyncClient(proxy=http.url_with("u", "x"), verify=False) as client:
            with pytest.raises(httpx.ProxyError, match="407"):
                await client.get(f"{tls.url}/echo")
        assert [r.authenticated for r in http.records] == [False] * 4
        assert {r.outcome for r in http.records} == {"auth_failed"}
        assert http.records[0].status == 407
        async with curl(tls, socks.url_with("u", "wrong")) as session:
            with pytest.raises(ProxyError, match=r"\(97\) User was rejected by the SOCKS5 server"):
                await session.get(f"{tls.url}/echo")
        async with curl(tls, socks.url_with()) as session:
            with pytest.raises(ProxyError, match="No authentication method was acceptable"):
                await session.get(f"{tls.url}/echo")
        assert [(r.authenticated, r.outcome) for r in socks.records] == [(False, "auth_failed")] * 2


async def test_fail_with_and_forbidden_targets(plain: str, tls: Http2ServerThread) -> None:
    async with ConnectProxy(fail_with=502) as http, Socks5Proxy(fail_with=1) as socks:
        async with curl(tls, http.url) as session:
            with pytest.raises(CurlConnectionError, match="CONNECT tunnel failed, response 502"):
                await session.get(f"{tls.url}/echo")
            assert (await session.get(f"{plain}/echo")).status_code == 502
            http.fail_with = None
            with pytest.raises(CurlConnectionError, match="response 403"):
                await session.get("https://example.com/")  # the proxy resolves: no DNS here
        async with curl(tls, socks.url) as session:
            with pytest.raises(ProxyError, match=r"complete SOCKS5 connection to 127.+\(1\)"):
                await session.get(f"{tls.url}/echo")
            socks.fail_with = None
            with pytest.raises(ProxyError, match=r"connection to example\.com\. \(2\)"):
                await session.get("https://example.com/")
        async with curl(tls, socks.url_with(scheme="socks5")) as session:
            with pytest.raises(ProxyError, match=r"\(2\)"):
                await session.get("https://192.0.2.1/")
    assert [r.outcome for r in http.records] == ["failed", "failed", "forbidden"]
    assert [r.status for r in socks.records] == [1, 2, 2]


async def test_hosts_mapping(plain: str, tls: Http2ServerThread) -> None:
    proxy = ConnectProxy(hosts={"grok.com": plain.removeprefix("http://")})
    async with proxy, curl(tls, proxy.url) as session:
        seen = (await session.get("http://grok.com/echo")).json()
    assert seen["headers"]["host"] == "grok.com" and proxy.records[0].target == ("grok.com", 80)
    assert proxy.records[0].address == "127.0.0.1"


async def test_kill_mid_stream_refuses_then_revives(tls: Http2ServerThread) -> None:
    for proxy in (ConnectProxy(source_address="127.0.0.2"), Socks5Proxy()):
        thread = ProxyThread(proxy)
        url = thread.start()
        async with curl(tls, url) as session:
            response = await session.get(f"{tls.url}/stream", stream=True)
            with pytest.raises(CurlConnectionError, match=r"\(56\)"):  # closed abruptly
                async for _ in response.aiter_content():
                    thread.kill()
            assert thread.records[0].ended is not None and proxy.open_connections == 0
            with pytest.raises(CurlConnectionError, match=r"\(7\) Failed to connect .* over proxy"):
                await session.get(f"{tls.url}/echo")
            assert thread.start() == url  # same port
            assert (await session.get(f"{tls.url}/echo")).status_code == 200
        thread.stop()
        thread.stop()  # idempotent


async def test_stalled_proxy_times_out(tls: Http2ServerThread) -> None:
    async with ConnectProxy(stall=True) as proxy, curl(tls, proxy.url, timeout=0.5) as session:
        with pytest.raises(Timeout, match=r"\(28\) Connection timed out after"):
            await session.get(f"{tls.url}/echo")
    assert proxy.records[0].outcome == "stalled"


@pytest.mark.parametrize("kind", [ConnectProxy, Socks5Proxy])
async def test_curl_websockets_through_proxies(
    kind: type[ConnectProxy], plain: str, tls: Http2ServerThread
) -> None:
    proxy = kind(username="u", password="p", source_address="127.0.0.2")
    async with proxy, curl(tls, proxy.url) as session:
        for base in (plain.replace("http", "ws", 1), tls.url.replace("https", "wss", 1)):
            ws = await session.ws_connect(f"{base}/ws", proxy=proxy.url)
            assert json.loads(await ws.recv_str()) == {"client": "127.0.0.2"}
            await ws.send_str("ping")
            assert await ws.recv_str() == "ping"
            await ws.close()
    # curl tunnels ws:// through an HTTP proxy too (CONNECT, not absolute-form)
    assert [r.kind for r in proxy.records] == [proxy.kind] * 2


async def test_absolute_form_websocket_upgrade(plain: str) -> None:
    async with ConnectProxy(source_address="127.0.0.3") as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(
            f"GET {plain}/ws HTTP/1.1\r\nHost: {plain[7:]}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nProxy-Connection: keep-alive\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        opcode, length = await reader.readexactly(2)
        assert opcode == 0x81 and length < 126
        assert json.loads(await reader.readexactly(length)) == {"client": "127.0.0.3"}
        writer.close()
    assert proxy.records[0].kind == "absolute" and proxy.records[0].status == 101


async def socks_handshake(port: int, *messages: bytes) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    try:
        for message, size in zip(messages[::2], messages[1::2], strict=True):
            writer.write(message)
            answers.append(await reader.read(int.from_bytes(size)))
    finally:
        writer.close()
    return answers


async def test_socks5_protocol_replies() -> None:
    target = b"\x01\x7f\x00\x00\x01" + struct.pack("!H", 9)
    async with Socks5Proxy(username="u", password="p") as proxy:
        answers = await socks_handshake(proxy.port, b"\x05\x01\x00", b"\x02")
        assert answers == [b"\x05\xff"]  # no-auth offered, credentials required
    async with Socks5Proxy() as proxy:
        bind = b"\x05\x02\x00" + target  # BIND: command not supported
        answers = await socks_handshake(proxy.port, b"\x05\x01\x00", b"\x02", bind, b"\x0a")
        assert answers == [b"\x05\x00", b"\x05\x07\x00\x01" + bytes(6)]
        connect = b"\x05\x01\x00" + target  # nothing listens on 127.0.0.1:9: refused (5)
        answers = await socks_handshake(proxy.port, b"\x05\x01\x00", b"\x02", connect, b"\x0a")
        assert answers[1][:2] == b"\x05\x05"
    assert [r.outcome for r in proxy.records] == ["bad_request", "unreachable"]


def test_proxy_thread_with_sync_httpx(plain: str) -> None:
    with ProxyThread(ConnectProxy(username="u", password="p", source_address="127.0.0.2")) as t:
        assert httpx.get(f"{plain}/echo", proxy=t.url).json()["client"] == "127.0.0.2"
        assert httpx.get(f"{plain}/echo", proxy=t.proxy.url_with()).status_code == 407
        assert [r.outcome for r in t.records] == ["ok", "auth_failed"]
    with pytest.raises(httpx.ConnectError, match="Connection refused"):  # the proxy is gone
        httpx.get(f"{plain}/echo", proxy=t.url)
