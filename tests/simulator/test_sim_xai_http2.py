"""The xAI fake over HTTP/2: ``Http2ServerThread`` (hypercorn; TLS + ALPN, or h2c)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_server import Http2ServerThread
from grokgate.simulator.xai_state import XaiState
from tests.simulator.xai_support import AUTH, KEY, chat_body, sse_events


@pytest.fixture(scope="module")
def _h2() -> Iterator[tuple[XaiState, Http2ServerThread]]:
    state = XaiState([KEY])
    with Http2ServerThread(create_xai_app(state), tls=True) as server:
        yield state, server


@pytest.fixture
def h2(_h2: tuple[XaiState, Http2ServerThread]) -> tuple[XaiState, Http2ServerThread]:
    _h2[0].reset()
    return _h2


def _client(server: Http2ServerThread) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        http2=True, verify=server.client_ssl_context(), base_url=server.url, timeout=10.0
    )


async def test_tls_negotiates_http2_and_the_fake_records_it(
    h2: tuple[XaiState, Http2ServerThread],
) -> None:
    state, server = h2
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", server.url) and str(server) == server.url
    async with _client(server) as client:
        response = await client.get("/v1/models", headers=AUTH)
    assert response.http_version == "HTTP/2" and response.status_code == 200
    assert response.json()["data"][0]["id"] == "grok-4"
    assert state.last().http_version == "2"
    ca_context = ssl.create_default_context(cafile=server.ca_file)
    async with httpx.AsyncClient(http2=True, verify=ca_context) as client:
        again = await client.get(f"{server.url}/v1/models", headers=AUTH)
    assert again.http_version == "HTTP/2"


async def test_http1_client_still_works_over_tls(h2: tuple[XaiState, Http2ServerThread]) -> None:
    state, server = h2
    async with httpx.AsyncClient(verify=server.client_ssl_context()) as client:
        response = await client.post(
            f"{server.url}/v1/chat/completions", json=chat_body(), headers=AUTH
        )
    assert response.http_version == "HTTP/1.1" and response.status_code == 200
    assert state.last().http_version == "1.1"


async def test_streams_multiplex_over_one_connection(
    h2: tuple[XaiState, Http2ServerThread],
) -> None:
    state, server = h2

    async def one(client: httpx.AsyncClient, i: int) -> list[Any]:
        response = await client.post(
            "/v1/chat/completions", json=chat_body(f"n{i}", stream=True), headers=AUTH
        )
        assert response.http_version == "HTTP/2"
        return [data for _, data in sse_events(response.text)]

    async with _client(server) as client:
        results = await asyncio.gather(*(one(client, i) for i in range(5)))
    for i, events in enumerate(results):
        assert events[-1] == "[DONE]"
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1])
        assert text == f"Echo: n{i}"
    assert len(state.requests) == 5 and {r.http_version for r in state.requests} == {"2"}
    assert all(len(r.chunk_times) == 5 for r in state.requests)


async def test_gate_shows_no_buffering_over_http2(h2: tuple[XaiState, Http2ServerThread]) -> None:
    state, server = h2
    state.hold_chunks = True
    async with (
        _client(server) as client,
        client.stream(
            "POST", "/v1/chat/completions", json=chat_body("a b", stream=True), headers=AUTH
        ) as response,
    ):
        lines = response.aiter_lines()

        async def next_data() -> Any:
            async for line in lines:
                if line.startswith("data: "):
                    raw = line[6:]
                    return raw if raw == "[DONE]" else json.loads(raw)
            raise AssertionError("stream ended")

        assert (await next_data())["choices"][0]["delta"]["role"] == "assistant"
        assert (await next_data())["choices"][0]["delta"]["content"] == "Echo:"
        record = state.last()
        for expected in (" a", " b"):
            written = len(record.chunk_times)
            await asyncio.sleep(0.1)
            assert len(record.chunk_times) == written
            state.release_chunk()
            assert (await next_data())["choices"][0]["delta"]["content"] == expected
        assert (await next_data())["choices"][0]["finish_reason"] == "stop"
        assert await next_data() == "[DONE]"


async def test_cut_resets_the_http2_stream(h2: tuple[XaiState, Http2ServerThread]) -> None:
    state, server = h2
    state.inject(KEY, "cut", after=2)
    async with _client(server) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/v1/chat/completions", json=chat_body(stream=True), headers=AUTH)
        ok = await client.post("/v1/chat/completions", json=chat_body(), headers=AUTH)
    assert ok.status_code == 200 and ok.http_version == "HTTP/2"


async def test_openai_sdk_over_http2() -> None:
    httpx2 = pytest.importorskip("httpx2")  # the SDK's own httpx fork
    import openai

    state = XaiState([KEY])
    with Http2ServerThread(create_xai_app(state), tls=True) as server:
        async with httpx2.AsyncClient(http2=True, verify=server.client_ssl_context()) as http:
            client = openai.AsyncOpenAI(
                base_url=f"{server.url}/v1", api_key=KEY, http_client=http, max_retries=0
            )
            messages: Any = [{"role": "user", "content": "over h2"}]
            stream = await client.chat.completions.create(
                model="grok-4", messages=messages, stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Echo: over h2" and state.last().http_version == "2"


async def test_h2c_prior_knowledge_without_tls() -> None:
    state = XaiState([KEY])
    with Http2ServerThread(create_xai_app(state), tls=False) as server:
        assert server.url.startswith("http://") and server.ca_file is None
        with pytest.raises(RuntimeError):
            server.client_ssl_context()
        async with httpx.AsyncClient(http1=False, http2=True) as client:
            response = await client.get(f"{server.url}/v1/models", headers=AUTH)
        assert response.http_version == "HTTP/2" and state.last().http_version == "2"
        async with httpx.AsyncClient() as client:  # plain HTTP/1.1 on the same port
            response = await client.get(f"{server.url}/v1/models", headers=AUTH)
        assert response.http_version == "HTTP/1.1"


async def _hello(request: Request) -> Response:
    return PlainTextResponse(request.scope["http_version"])


def test_lifecycle_any_asgi_app() -> None:
    server = Http2ServerThread(Starlette(routes=[Route("/", _hello)]), tls=True)
    with pytest.raises(RuntimeError):
        _ = server.url
    url = server.start()
    ca_file = server.ca_file
    assert ca_file is not None
    with pytest.raises(RuntimeError):
        server.start()
    with httpx.Client(http2=True, verify=server.client_ssl_context()) as client:
        assert client.get(url).text == "2"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0  # idle connections are closed at once
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, verify=False, timeout=1.0)
    server.stop()  # idempotent
    assert server.ca_file is None


def test_stop_is_bounded_with_a_held_stream() -> None:
    state = XaiState([KEY])
    state.hold_chunks = True
    server = Http2ServerThread(create_xai_app(state), tls=True, graceful_timeout=0.5)
    server.start()
    errors: list[BaseException] = []

    def consume() -> None:
        with httpx.Client(http2=True, verify=server.client_ssl_context(), timeout=10) as client:
            try:
                client.post(
                    f"{server.url}/v1/chat/completions", json=chat_body(stream=True), headers=AUTH
                )
            except httpx.HTTPError as exc:
                errors.append(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    state.wait_for_chunks(2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3.0
    thread.join(5)
    assert not thread.is_alive() and len(errors) == 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)
