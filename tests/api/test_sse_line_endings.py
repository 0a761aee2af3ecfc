"""Every stream grokgate emits frames its events with ``\\n`` alone, as OpenAI and Anthropic do.

Line-based readers (``curl | while read``, ``split("\\n\\n")``) break on ``\\r\\n``. The raw
bytes of each stream kind, read with httpx from a live gateway, hold no ``\\r`` at all: chat
completions (with and without tools), Responses, Anthropic Messages, the xAI relay for all
three (also when the xAI upstream itself frames with ``\\r\\n``), and the keep-alive comments
during a slow answer. Event names and ``[DONE]`` stay as they were.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grokgate.api.app import create_app
from grokgate.simulator.app import create_app as create_simulator
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_server import Http2ServerThread
from grokgate.simulator.xai_state import XaiState
from tests.api.xai import conftest as xai_fixtures
from tests.api.xai.conftest import KEYS, Xai
from tests.conftest import gateway_settings
from tests.support import ACCOUNTS, API_KEY, Gateway, GatewayFactory

xai_server = xai_fixtures.xai_server  # the fake xAI API, as the xAI tests have it
xai = xai_fixtures.xai
xai_gateway = xai_fixtures.xai_gateway

HEADERS = {"Authorization": f"Bearer {API_KEY}", "anthropic-version": "2023-06-01"}
WEB_MODEL = "grok-4.20-0309-non-reasoning"
XAI_MODEL = "grok-4"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _chat(model: str, text: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}
    return "/v1/chat/completions", {**body, **extra}


def _responses(model: str, text: str) -> tuple[str, dict[str, Any]]:
    return "/v1/responses", {"model": model, "stream": True, "input": text}


def _messages(model: str, text: str) -> tuple[str, dict[str, Any]]:
    body = {"model": model, "stream": True, "max_tokens": 64}
    return "/v1/messages", {**body, "messages": [{"role": "user", "content": text}]}


def raw_stream(base: str, path: str, body: dict[str, Any]) -> bytes:
    with httpx.stream("POST", base + path, json=body, headers=HEADERS, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return b"".join(response.iter_raw())


def events_of(raw: bytes) -> list[dict[str, str]]:
    """The stream split the way a naive reader splits it: on ``\\n\\n``, lines on ``\\n``."""
    assert raw.endswith(b"\n\n"), raw[-40:]
    out = []
    for block in raw.decode().split("\n\n")[:-1]:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = fields.get(name, "") + value
        out.append(fields)
    return out


def check_lf_only(raw: bytes) -> list[dict[str, str]]:
    assert b"\r" not in raw, raw[:200]
    return events_of(raw)


def check_chat(raw: bytes) -> list[dict[str, Any]]:
    events = check_lf_only(raw)
    assert events[-1] == {"data": "[DONE]"}
    assert all(set(e) == {"data"} for e in events)  # chat chunks are unnamed
    return [json.loads(e["data"]) for e in events[:-1]]


def check_named(raw: bytes, first: str, last: str) -> list[str]:
    events = check_lf_only(raw)
    names = [e["event"] for e in events]
    assert names[0] == first and names[-1] == last, names
    for event in events:
        assert json.loads(event["data"])["type"] == event["event"]
    return names


def test_web_chat_stream_is_lf_only(gateway: str) -> None:
    chunks = check_chat(raw_stream(gateway, *_chat(WEB_MODEL, "hello there")))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith("Echo: hello there")


def test_web_chat_stream_with_tools_is_lf_only(gateway: str) -> None:
    path, body = _chat(WEB_MODEL, "call get_weather now", tools=[WEATHER])
    chunks = check_chat(raw_stream(gateway, path, body))
    calls = [c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"]]
    assert any(calls)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_web_responses_stream_is_lf_only(gateway: str) -> None:
    names = check_named(
        raw_stream(gateway, *_responses(WEB_MODEL, "hi")), "response.created", "response.completed"
    )
    assert "response.output_text.delta" in names


def test_web_messages_stream_is_lf_only(gateway: str) -> None:
    names = check_named(
        raw_stream(gateway, *_messages(WEB_MODEL, "hi")), "message_start", "message_stop"
    )
    assert "content_block_delta" in names


def test_xai_relay_streams_are_lf_only(xai_gateway: Gateway, xai: Xai) -> None:
    base = xai_gateway.url
    assert check_chat(raw_stream(base, *_chat(XAI_MODEL, "hi")))
    check_named(
        raw_stream(base, *_responses(XAI_MODEL, "hi")), "response.created", "response.completed"
    )
    check_named(raw_stream(base, *_messages(XAI_MODEL, "hi")), "message_start", "message_stop")


class CrlfFraming:
    """ASGI wrapper: the xAI fake's SSE bodies with every ``\\n`` sent as ``\\r\\n`` (the SSE
    spec allows both; an upstream that sends CRLF must not change what we emit)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        sse = False

        async def framed(message: dict[str, Any]) -> None:
            nonlocal sse
            if message["type"] == "http.response.start":
                sse = any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                    for k, v in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and sse:
                message = {**message, "body": message.get("body", b"").replace(b"\n", b"\r\n")}
            await send(message)

        await self.app(scope, receive, framed)


@pytest.fixture
def crlf_xai() -> Iterator[Xai]:
    state = XaiState(KEYS)
    with Http2ServerThread(CrlfFraming(create_xai_app(state)), tls=True) as server:
        assert server.ca_file is not None
        yield Xai(state, server.url, server.ca_file)


def test_xai_relay_is_lf_only_when_the_upstream_sends_crlf(
    make_gateway: GatewayFactory, crlf_xai: Xai
) -> None:
    with httpx.stream(
        "POST",
        f"{crlf_xai.url}/v1/chat/completions",
        verify=ssl.create_default_context(cafile=crlf_xai.ca_file),
        json={"model": XAI_MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {KEYS[0]}"},
    ) as upstream:
        assert b"\r\n\r\n" in b"".join(upstream.iter_raw())  # the wrapper does frame with CRLF
    base = make_gateway(
        xai_base_url=crlf_xai.url, xai_api_keys=",".join(KEYS), xai_ca_file=crlf_xai.ca_file
    ).url
    chunks = check_chat(raw_stream(base, *_chat(XAI_MODEL, "two words")))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: two words"
    check_named(
        raw_stream(base, *_responses(XAI_MODEL, "hi")), "response.created", "response.completed"
    )
    check_named(raw_stream(base, *_messages(XAI_MODEL, "hi")), "message_start", "message_stop")


def test_keepalive_pings_during_a_slow_stream_are_lf_only(tmp_path: Path) -> None:
    state = SimState()
    for tier, token in ACCOUNTS:
        state.add_account(token, tier)
    with ServerThread(create_simulator(state, token_delay=0.3)) as sim:
        settings = gateway_settings(sim.url, tmp_path, keepalive_seconds=0.1)
        with ServerThread(create_app(settings=settings)) as gateway:
            raw = raw_stream(gateway.url, *_chat(WEB_MODEL, "one two three four"))
    assert b": ping\n\n" in raw
    events = check_lf_only(raw)
    assert events[-1] == {"data": "[DONE]"}
    assert {"": "ping"} in events
