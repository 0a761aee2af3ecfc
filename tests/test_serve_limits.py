"""``grokgate serve`` against slow and too many clients: a real process on loopback.

Half-sent request lines and headers are closed after ``GROKGATE_HEADER_TIMEOUT``, a stalled body
is a 408 after ``GROKGATE_BODY_TIMEOUT``, and requests over ``GROKGATE_MAX_CONCURRENT_REQUESTS``
are a 503 in the API's format (with ``Retry-After``; Anthropic's "overloaded" is its 529).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from grokgate.api.app import create_app
from grokgate.config import Settings
from grokgate.serving import header_timeout_protocol
from tests.support import free_port
from tests.test_cli import _serve, _stop

KEY = "sk-serve-limits-key"
SLACK = 1.0  # how late after its deadline the server may close


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (socket timeout: it never did)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_half_sent_requests_are_closed_after_the_header_timeout(tmp_path: Path) -> None:
    env = {"GROKGATE_API_KEYS": KEY, "GROKGATE_HEADER_TIMEOUT": "1"}
    proc, port = _serve(tmp_path, "--no-demo", env=env)
    try:
        partials = [b"", b"GET /v1/mod", b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"]
        for partial in partials:
            with socket.create_connection(("127.0.0.1", port), timeout=5 + SLACK) as sock:
                start = time.monotonic()
                sock.sendall(partial)
                assert _until_closed(sock) == b"", partial
                elapsed = time.monotonic() - start
            assert 0.8 < elapsed < 1 + SLACK, (partial, elapsed)
        # on a kept-alive connection, the deadline starts with the next request's first byte
        with socket.create_connection(("127.0.0.1", port), timeout=5 + SLACK) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while not answer.endswith(b"}"):  # /health's JSON, whole
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
            time.sleep(1.5)  # longer than the header timeout, shorter than keep-alive (5 s)
            start = time.monotonic()
            sock.sendall(b"GET /hea")
            assert _until_closed(sock) == b""
            elapsed = time.monotonic() - start
        assert 0.8 < elapsed < 1 + SLACK, elapsed
        # a complete request is not affected
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        _stop(proc)


def test_a_stalled_body_is_a_408_after_the_body_timeout(tmp_path: Path) -> None:
    env = {"GROKGATE_API_KEYS": KEY, "GROKGATE_BODY_TIMEOUT": "1"}
    proc, port = _serve(tmp_path, "--no-demo", env=env)
    try:
        for path in ("/v1/chat/completions", "/v1/messages"):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n"
            )
            with socket.create_connection(("127.0.0.1", port), timeout=5 + SLACK) as sock:
                sock.sendall(head.encode() + b'{"model":"')  # 10 of the 1000 bytes
                start = time.monotonic()
                status, headers, body = _parse(_until_closed(sock))  # then it is closed
                elapsed = time.monotonic() - start
            assert status == 408 and 0.8 < elapsed < 1 + SLACK, (status, elapsed)
            assert headers["connection"] == "close"
            error = json.loads(body)
            if path == "/v1/messages":
                assert error["type"] == "error" and error["error"]["type"] == "timeout_error"
            else:
                assert error["error"]["code"] == "request_timeout"
                assert error["error"]["type"] == "invalid_request_error"
    finally:
        _stop(proc)


def test_requests_over_the_concurrency_limit_are_a_503(tmp_path: Path) -> None:
    # demo mode (no keys, loopback): the fake xAI API streams one word every 30 ms
    proc, port = _serve(tmp_path, env={"GROKGATE_MAX_CONCURRENT_REQUESTS": "2"})
    slow = {
        "model": "grok-4",
        "stream": True,
        "messages": [{"role": "user", "content": " ".join(["word"] * 500)}],
    }
    quick = {"model": "grok-4", "messages": [{"role": "user", "content": "hi"}]}
    message = {"model": "grok-4", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    base = f"http://127.0.0.1:{port}"
    try:
        with (
            httpx.Client(base_url=base, timeout=10) as one,
            httpx.Client(base_url=base, timeout=10) as two,
            httpx.Client(base_url=base, timeout=10) as three,
        ):
            with (
                one.stream("POST", "/v1/chat/completions", json=slow) as first,
                two.stream("POST", "/v1/chat/completions", json=slow) as second,
            ):
                # both are streaming their answers (the iterators are kept: a dropped one
                # closes its response)
                iterators = [streaming.iter_raw() for streaming in (first, second)]
                assert first.status_code == second.status_code == 200
                assert all(next(chunks) for chunks in iterators)
                busy = three.post("/v1/chat/completions", json=quick)
                assert busy.status_code == 503, busy.text
                assert busy.headers["retry-after"] == "1"
                assert busy.json()["error"]["code"] == "server_busy"
                assert busy.json()["error"]["type"] == "server_error"
                busy = three.post("/v1/messages", json=message)  # Anthropic's "overloaded"
                assert busy.status_code == 529 and busy.headers["retry-after"] == "1"
                assert busy.json()["error"]["type"] == "overloaded_error"
                assert three.get("/health").status_code == 200  # never limited
            deadline = time.monotonic() + 5  # the two closed streams end on the server
            while (answer := three.post("/v1/chat/completions", json=quick)).status_code == 503:
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.1)
            assert answer.status_code == 200, answer.text
    finally:
        _stop(proc)


@pytest.mark.parametrize("base", [H11Protocol, HttpToolsProtocol])
def test_the_header_deadline_works_over_both_uvicorn_protocols(
    tmp_path: Path, base: type[asyncio.Protocol]
) -> None:
    settings = Settings(_env_file=None, api_keys=KEY, data_dir=tmp_path)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http=header_timeout_protocol(0.5, base),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.01)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            start = time.monotonic()
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert _until_closed(sock) == b""
            elapsed = time.monotonic() - start
        assert 0.4 < elapsed < 0.5 + SLACK, elapsed
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        server.should_exit = True
        thread.join(5)
