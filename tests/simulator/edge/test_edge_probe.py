"""The edge in probe mode: it forwards everything, and its records tell Chrome (curl_cffi's
impersonation) from Python's TLS + h2 stack."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import ssl
import time

import pytest

from grokgate.simulator.edge import CHROME_146, Edge, EdgeThread, is_chrome, verdict
from grokgate.simulator.server import ServerThread
from tests.simulator.edge.edge_support import (
    BLOB,
    STREAM_CHUNKS,
    STREAM_GAP,
    chrome,
    only_connection,
    python_client,
    requests_to,
)

CHROME146_JA4 = "t13d1516h2_8daaf6152771_d8a2da3f94cd"
CHROME_SETTINGS = ((1, 65536), (2, 0), (4, 6291456), (6, 262144))


async def test_chrome146_get_post_stream_pass_as_chrome(probe: EdgeThread) -> None:
    async with chrome(probe) as s:
        got = await s.get(f"{probe.url}/echo?q=1", headers={"cookie": "a=1; b=2"})
        posted = await s.post(f"{probe.url}/echo", json={"hello": "world"})
        streamed = await s.get(f"{probe.url}/stream")
    assert got.status_code == posted.status_code == streamed.status_code == 200
    assert posted.json()["length"] == len(b'{"hello":"world"}')
    assert streamed.text == "".join(f"tick {i}\n" for i in range(STREAM_CHUNKS))
    backend_headers = dict(got.json()["headers"])
    assert backend_headers["x-edge-client-ip"] == "127.0.0.1"
    assert backend_headers["host"] == f"localhost:{probe.port}"

    record = only_connection(probe)
    assert record.alpn == "h2" and record.tls_version == "TLSv1.3"
    assert record.ja4 == CHROME146_JA4
    assert record.settings == CHROME_SETTINGS
    assert record.window_update == 15663105
    assert record.akamai == CHROME_146.akamai
    assert [r.pseudo_order for r in record.requests] == ["m,a,s,p"] * 3
    assert [(r.method, r.path, r.outcome) for r in record.requests] == [
        ("GET", "/echo?q=1", "forwarded"),
        ("POST", "/echo", "forwarded"),
        ("GET", "/stream", "forwarded"),
    ]
    first = record.requests[0]
    assert first.cookies == {"a": "1", "b": "2"}
    assert first.header_names[0] == "sec-ch-ua"  # Chrome's header order, as received
    assert "Chrome/146" in first.user_agent
    assert first.status == 200
    judged = verdict(record)
    assert judged and judged.profile == "chrome146", judged.reasons
    assert is_chrome(record)


async def test_newest_profile_chrome152_passes(probe: EdgeThread) -> None:
    async with chrome(probe, "chrome152") as s:
        assert (await s.get(f"{probe.url}/echo")).status_code == 200
    record = only_connection(probe)
    assert record.ja4 == "t13d1517h2_8daaf6152771_cb7bf5808d99"
    assert record.akamai == "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p"
    assert verdict(record).profile == "chrome152"


async def test_connecting_by_ip_sends_no_sni_and_still_passes(probe: EdgeThread) -> None:
    async with chrome(probe) as s:
        assert (await s.get(f"{probe.ip_url}/echo")).status_code == 200
    record = only_connection(probe)
    assert record.hello is not None and record.hello.sni is None
    assert record.ja4 == "t13i1515h2_8daaf6152771_d8a2da3f94cd"
    assert is_chrome(record)


async def test_websocket_passes_with_alpn_http11(probe: EdgeThread) -> None:
    async with chrome(probe) as s:
        ws = await s.ws_connect(f"wss://localhost:{probe.port}/ws")
        hello = await ws.recv_str()
        await ws.send_str("ping")
        echoed = await ws.recv_str()
        await ws.close()
    assert '"client_ip":"127.0.0.1"' in hello.replace(" ", "")
    assert echoed == "echo:ping"
    ((record, request),) = requests_to(probe, "/ws")
    assert record.alpn == "http/1.1" and record.h2 is None
    assert request.websocket and request.status == 101 and request.pseudo_order == ""
    assert record.hello is not None and record.hello.alpn == ("http/1.1",)
    assert record.ja4 == "t13d1515h1_8daaf6152771_0a20fe35d3a5" == CHROME_146.ja4(websocket=True)
    assert [k.lower() for k, _ in request.headers][:2] == ["host", "upgrade"]
    judged = verdict(record)
    assert judged, judged.reasons


@pytest.mark.parametrize("http2", [True, False])
async def test_httpx_fails_the_checks(probe: EdgeThread, http2: bool) -> None:
    async with python_client(probe, http2) as client:
        response = await client.get(f"{probe.url}/echo")
    assert response.status_code == 200  # probe mode forwards regardless
    record = only_connection(probe)
    judged = verdict(record)
    assert not judged and not is_chrome(record)
    text = str(judged)
    assert "no GREASE" in text and "cipher suites" in text and "extensions" in text
    assert record.ja4 is not None and record.ja4.startswith("t13d")
    assert record.ja4.split("_")[1:] != CHROME146_JA4.split("_")[1:]
    if http2:
        assert record.alpn == "h2"
        assert record.settings is not None and record.settings[0] == (1, 4096)
        assert dict(record.settings)[4] == 65535
        assert "HTTP/2 SETTINGS" in text and "WINDOW_UPDATE" in text
    else:
        assert record.alpn == "http/1.1" and record.ja4.startswith("t13d1812h1")
        assert "not WebSocket upgrades" in text


async def test_streamed_response_arrives_incrementally(probe: EdgeThread) -> None:
    arrivals: list[float] = []
    async with chrome(probe) as s:
        start = time.monotonic()
        response = await s.get(f"{probe.url}/stream", stream=True)
        body = b""
        async for chunk in response.aiter_content():
            arrivals.append(time.monotonic() - start)
            body += chunk
        await response.aclose()
    assert body.decode() == "".join(f"tick {i}\n" for i in range(STREAM_CHUNKS))
    assert len(arrivals) >= 3, arrivals
    assert arrivals[-1] - arrivals[0] >= STREAM_GAP * (STREAM_CHUNKS - 2), arrivals


async def test_five_megabytes_up_and_down(probe: EdgeThread) -> None:
    digest = hashlib.sha256(BLOB).hexdigest()
    async with chrome(probe) as s:
        up = await s.post(f"{probe.url}/echo", data=BLOB)
        down = await s.get(f"{probe.url}/blob")
    assert (up.json()["length"], up.json()["sha256"]) == (len(BLOB), digest)
    assert down.content == BLOB
    async with python_client(probe, http2=True) as client:
        up2 = await client.put(f"{probe.url}/echo", content=BLOB)
        down2 = await client.get(f"{probe.url}/blob")
    assert up2.http_version == "HTTP/2" and up2.json()["sha256"] == digest
    assert down2.content == BLOB


async def test_edge_in_the_tests_event_loop_and_stop_closes_sockets(
    backend: ServerThread,
) -> None:
    loop = asyncio.get_running_loop()
    async with Edge(backend.url) as edge:
        assert edge.ca_file is not None
        idle = socket.create_connection(("127.0.0.1", edge.port))
        idle.setblocking(False)
        async with chrome(edge) as s:
            assert (await s.get(f"{edge.url}/echo")).status_code == 200
        assert is_chrome(edge.connections[-1])
        assert edge.connections[0].hello is None  # the idle one: no hello yet
        port = edge.port
    assert await asyncio.wait_for(loop.sock_recv(idle, 10), 2.0) == b""  # closed on stop
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


async def test_plain_http_to_the_tls_port_is_recorded_and_closed(probe: EdgeThread) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", probe.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), 2.0) == b""
    writer.close()
    (record,) = probe.connections
    assert record.hello is None and record.hello_error is not None
    assert "handshake record" in record.hello_error
    assert "no ClientHello" in str(verdict(record))


async def test_chrome_tls_over_http11_is_flagged(probe: EdgeThread) -> None:
    """curl_cffi forced to HTTP/1.1: Chrome's (WebSocket) hello, but plain HTTP/1.1 requests."""
    async with chrome(probe, http_version="v1") as s:
        up = await s.post(f"{probe.url}/echo", data=BLOB)
        streamed = await s.get(f"{probe.url}/stream")
    assert up.json()["sha256"] == hashlib.sha256(BLOB).hexdigest()
    assert streamed.text.startswith("tick 0\n")
    record = only_connection(probe)
    assert record.alpn == "http/1.1" and len(record.requests) == 2  # one keep-alive connection
    assert record.ja4 == CHROME_146.ja4(websocket=True)
    assert "not WebSocket upgrades" in str(verdict(record))


async def test_expect_100_continue_is_answered_by_the_edge(probe: EdgeThread) -> None:
    ctx = ssl.create_default_context(cafile=probe.ca_file)
    ctx.set_alpn_protocols(["http/1.1"])
    reader, writer = await asyncio.open_connection("127.0.0.1", probe.port, ssl=ctx)
    body = b"y" * 1000
    writer.write(
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
    assert interim.startswith(b"HTTP/1.1 100 ")
    writer.write(body)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    echoed = json.loads(await reader.readexactly(length))
    writer.close()
    assert echoed["length"] == 1000
    assert "expect" not in dict(echoed["headers"])
