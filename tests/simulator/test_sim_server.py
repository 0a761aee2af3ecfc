"""ServerThread: a generic ASGI app under uvicorn in a background thread."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from grokgate.simulator.server import ServerThread


async def _hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def _forever(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        while True:
            yield b"tick\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(body())


APP = Starlette(routes=[Route("/", _hello), Route("/forever", _forever)])


def test_start_serves_and_stop_closes() -> None:
    server = ServerThread(APP)
    with pytest.raises(RuntimeError):
        _ = server.url
    url = server.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and server.url == url == str(server)
    assert httpx.get(url).text == "hello"
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1.0)
    server.stop()  # idempotent


def test_context_manager_and_two_servers() -> None:
    with ServerThread(APP) as a, ServerThread(APP) as b:
        assert a.url != b.url
        assert httpx.get(a.url).text == httpx.get(b.url).text == "hello"


def test_stop_is_bounded_with_an_open_stream() -> None:
    server = ServerThread(APP, graceful_timeout=1)
    url = server.start()
    with httpx.Client(timeout=5.0) as http, http.stream("GET", f"{url}/forever") as response:
        assert next(response.iter_lines()) == "tick"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3.0
