"""An HTTP/2 response closed before its end is reset upstream (``grokgate.upstream.h2cancel``),
against the xAI fake over TLS + HTTP/2, with the gateway's own client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_server import Http2ServerThread
from grokgate.simulator.xai_state import XaiRecord, XaiState
from grokgate.upstream.http import new_http_client

KEY = "xai-test-key-0123456789abcdef"
PATH = "/v1/chat/completions"
WORDS = " ".join(f"w{i}" for i in range(40))  # 40 content events, 50 ms apart: 2 s in all


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[XaiState, Http2ServerThread]]:
    state = XaiState([KEY])
    with Http2ServerThread(create_xai_app(state, token_delay=0.05), tls=True) as running:
        yield state, running


@dataclass
class Fake:
    http: httpx.AsyncClient
    state: XaiState
    url: str

    def request(self, stream: bool) -> httpx.Request:
        return self.http.build_request(
            "POST",
            f"{self.url}{PATH}",
            json=body(stream),
            headers={"authorization": f"Bearer {KEY}"},
        )


@pytest.fixture
async def fake(server: tuple[XaiState, Http2ServerThread]) -> AsyncIterator[Fake]:
    state, running = server
    state.reset()
    assert running.ca_file is not None
    http = new_http_client(connect_timeout=5, idle_timeout=10, verify=running.ca_file)
    yield Fake(http, state, running.url)
    await http.aclose()


def body(stream: bool) -> dict[str, object]:
    return {"model": "grok-4", "stream": stream, "messages": [{"role": "user", "content": WORDS}]}


async def outcome_of(record: XaiRecord, within: float) -> str | None:
    for _ in range(round(within / 0.02)):
        if record.outcome is not None:
            break
        await asyncio.sleep(0.02)
    return record.outcome


async def abandon(fake: Fake) -> XaiRecord:
    """Read up to the first word of a streamed answer, then close the response."""
    response = await fake.http.send(fake.request(stream=True), stream=True)
    assert response.http_version == "HTTP/2"
    async for line in response.aiter_lines():
        if "w0" in line:
            break
    await response.aclose()
    return fake.state.last(PATH)


async def test_an_abandoned_stream_is_cancelled_upstream_at_once(fake: Fake) -> None:
    record = await abandon(fake)
    # without the reset the fake would stream to its end (2 s) and record "completed"
    assert await outcome_of(record, within=1.0) == "client_gone"


async def test_the_connection_stays_usable_after_many_abandoned_streams(fake: Fake) -> None:
    records = [await abandon(fake) for _ in range(20)]
    for record in records:
        assert await outcome_of(record, within=1.0) == "client_gone"
    answer = await fake.http.send(fake.request(stream=False))
    assert answer.status_code == 200 and answer.http_version == "HTTP/2"
    assert "w39" in answer.json()["choices"][0]["message"]["content"]


async def test_a_stream_read_to_its_end_is_not_reset(
    fake: Fake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="grokgate")
    response = await fake.http.send(fake.request(stream=True), stream=True)
    lines = [line async for line in response.aiter_lines()]
    await response.aclose()
    assert "data: [DONE]" in lines
    assert await outcome_of(fake.state.last(PATH), within=1.0) == "completed"
    assert "HTTP/2 stream" not in caplog.text
