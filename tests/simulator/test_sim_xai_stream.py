"""The xAI fake's request recording, token delay and chunk gate (HTTP/1.1 under uvicorn)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from tests.simulator.xai_support import AUTH, KEY, XaiFake, chat_body, serve_xai


def _events(lines: Iterator[str]) -> Iterator[Any]:
    """SSE ``data:`` payloads of a chat stream, parsed (``[DONE]`` stays a string)."""
    for line in lines:
        if line.startswith("data: "):
            raw = line[len("data: ") :]
            yield raw if raw == "[DONE]" else json.loads(raw)


# recording -----------------------------------------------------------------------------------
def test_records_headers_body_key_and_version(xai: XaiFake) -> None:
    before = time.monotonic()
    messages: Any = [{"role": "user", "content": "hi"}]
    xai.openai().chat.completions.create(
        model="grok-4", messages=messages, temperature=0.5, extra_headers={"X-Trace": "t1"}
    )
    record = xai.state.last("/v1/chat/completions")
    assert (record.method, record.path, record.key, record.status) == (
        "POST",
        "/v1/chat/completions",
        KEY,
        200,
    )
    assert record.headers["authorization"] == f"Bearer {KEY}"
    assert record.headers["x-trace"] == "t1" and "OpenAI" in record.headers["user-agent"]
    assert all(name == name.lower() for name in record.headers)
    assert record.body == {"model": "grok-4", "messages": messages, "temperature": 0.5}
    assert record.http_version == "1.1"
    assert before <= record.started_at <= time.monotonic()
    assert record.chunk_times == []  # not a stream


def test_records_stream_chunk_times_and_failures(xai: XaiFake) -> None:
    text = xai.post("/v1/chat/completions", chat_body("a b", stream=True)).text
    record = xai.state.last()
    assert len(record.chunk_times) == text.count("data: ") == 6  # role, 3 tokens, finish, DONE
    assert record.chunk_times == sorted(record.chunk_times)
    assert record.started_at <= record.chunk_times[0]
    xai.post("/v1/chat/completions", chat_body(), key="xai-wrong-0123456789")
    failed = xai.state.last()
    assert (failed.status, failed.key) == (401, "xai-wrong-0123456789")
    xai.anthropic().messages.create(
        model="grok-4", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    )
    anthropic_record = xai.state.last("/v1/messages")
    assert anthropic_record.key == KEY  # the SDK sends x-api-key or a Bearer token
    headers = anthropic_record.headers
    assert headers.get("x-api-key") == KEY or headers.get("authorization") == AUTH["authorization"]
    assert "anthropic-version" in anthropic_record.headers
    assert len(xai.state.requests_for(key=KEY)) == 2
    assert xai.state.requests_for("/v1/responses") == []


def test_token_delay_spaces_content_chunks() -> None:
    with serve_xai(token_delay=0.05) as slow:
        slow.post("/v1/chat/completions", chat_body("a b c", stream=True))
        times = slow.state.last().chunk_times
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 7 and all(gap >= 0.045 for gap in gaps[:4])  # before each token
    assert all(gap < 0.045 for gap in gaps[4:])  # finish chunk and [DONE] are not delayed


# the gate ------------------------------------------------------------------------------------
def test_gate_holds_each_content_chunk_until_released(xai: XaiFake) -> None:
    xai.state.hold_chunks = True
    with xai.http.stream(
        "POST", "/v1/chat/completions", json=chat_body("a b c", stream=True), headers=AUTH
    ) as response:
        events = _events(response.iter_lines())
        assert next(events)["choices"][0]["delta"]["role"] == "assistant"
        assert next(events)["choices"][0]["delta"]["content"] == "Echo:"
        record = xai.state.wait_for_chunks(2)
        for expected in (" a", " b", " c"):
            written = len(record.chunk_times)
            time.sleep(0.1)
            assert len(record.chunk_times) == written  # chunk k+1 not sent: nothing buffered
            xai.state.release_chunk()
            assert next(events)["choices"][0]["delta"]["content"] == expected
        assert next(events)["choices"][0]["finish_reason"] == "stop"  # not gated
        assert next(events) == "[DONE]"
    assert len(record.chunk_times) == 7


def test_gate_with_a_client_in_another_thread(xai: XaiFake) -> None:
    xai.state.hold_chunks = True
    received: list[str] = []

    def consume() -> None:
        stream = xai.openai().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "x y"}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    record = xai.state.wait_for_chunks(2)  # role + "Echo:"
    for count in (1, 2):
        deadline = time.monotonic() + 5
        while len(received) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(received) == count and len(record.chunk_times) == count + 1
        xai.state.release_chunk()
    thread.join(5)
    assert received == ["Echo:", " x", " y"]


def test_gate_lets_go_on_unhold_and_timeout(xai: XaiFake) -> None:
    xai.state.hold_chunks = True
    done = threading.Event()

    def consume() -> None:
        xai.post("/v1/chat/completions", chat_body("a b c d", stream=True))
        done.set()

    threading.Thread(target=consume, daemon=True).start()
    record = xai.state.wait_for_chunks(2)
    assert not done.wait(0.1)
    xai.state.hold_chunks = False
    assert done.wait(5) and len(record.chunk_times) == 8
    xai.state.hold_chunks = True
    xai.state.gate_timeout = 0.05
    started = time.monotonic()
    xai.post("/v1/chat/completions", chat_body("a b", stream=True))  # 2 gated waits, no release
    assert time.monotonic() - started >= 0.1
    xai.state.reset()
    assert xai.state.hold_chunks is False and xai.state.gate_timeout == 30.0


def test_gate_applies_to_every_stream_format(xai: XaiFake) -> None:
    xai.state.hold_chunks = True
    xai.state.release_chunk(10)  # enough for every content event after the first
    body = {"model": "grok-4", "input": "a b", "stream": True}
    assert xai.post("/v1/responses", body).text.rstrip().endswith("}")
    messages = {"model": "grok-4", "max_tokens": 9, "messages": [{"role": "user", "content": "a"}]}
    assert "message_stop" in xai.post("/v1/messages", {**messages, "stream": True}).text
    assert xai.state.wait_for_chunks(1).status == 200
