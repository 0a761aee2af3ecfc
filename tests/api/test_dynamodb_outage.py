"""DynamoDB unreachable or broken behind a live gateway (``grokgate serve`` in its own process,
configured as a deploy is): every chat request is a prompt 503 ``store_unavailable`` in the
API's own format, naming no endpoint, table or credential, and the gateway recovers by itself
when DynamoDB comes back. The outage is a TCP relay in front of moto that the test cuts."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from tests.support import ACCOUNTS, API_KEY, Sim, new_dynamodb_table, serve_process

MODEL = "grok-4.20-fast"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
SECRET_KEY = "aws-secret-never-shown-9f8e7d"


class Relay(socketserver.ThreadingTCPServer):
    """Forwards loopback TCP to ``target`` while ``up``; when cut, drops every connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = True
        super().__init__(("127.0.0.1", 0), _Pipe)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Pipe(socketserver.BaseRequestHandler):
    server: Relay

    def handle(self) -> None:
        if not self.server.up:
            self.request.close()
            return
        upstream = socket.create_connection(self.server.target, timeout=10)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while self.server.up and (chunk := src.recv(65536)):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join(timeout=10)
        upstream.close()


@pytest.fixture
def relay(moto_endpoint: str) -> Iterator[Relay]:
    host, port = moto_endpoint.removeprefix("http://").split(":")
    server = Relay((host, int(port)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _serve(sim: Sim, endpoint: str, table: str) -> tuple[subprocess.Popen[str], str]:
    return serve_process(
        {
            "GROKGATE_STORE": "dynamodb",
            "GROKGATE_DYNAMODB_TABLE": table,
            "GROKGATE_AWS_ENDPOINT_URL": endpoint,
            "GROKGATE_AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIAOUTAGETEST",
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "GROKGATE_API_KEYS": API_KEY,
            "GROKGATE_GROK_BASE_URL": sim.url,
            "GROKGATE_SSO_TOKENS": ":".join(ACCOUNTS[0]),
            "GROKGATE_STATSIG_HEADER_HEX": DEMO_STATSIG_HEADER_HEX,
            "GROKGATE_STATSIG_SUFFIX": DEMO_STATSIG_SUFFIX,
            "GROKGATE_WEB_CHAT_TRANSPORT": "rest",
            "GROKGATE_POOL_SNAPSHOT_SECONDS": "0.1",
        }
    )


def _hidden(text: str, endpoint: str, table: str) -> None:
    for secret in (endpoint, endpoint.removeprefix("http://"), table, SECRET_KEY, "AKIAOUTAGE"):
        assert secret not in text
    assert "Traceback" not in text


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=15)
    return out


def test_an_outage_is_a_503_in_both_formats_and_heals(sim: Sim, relay: Relay) -> None:
    table = new_dynamodb_table(f"http://{relay.target[0]}:{relay.target[1]}")
    proc, base = _serve(sim, relay.url, table)
    auth = {"Authorization": f"Bearer {API_KEY}"}
    try:
        ok = httpx.post(f"{base}/v1/chat/completions", json=CHAT, headers=auth, timeout=30)
        assert ok.status_code == 200, ok.text

        relay.up = False
        started = time.monotonic()
        down = httpx.post(f"{base}/v1/chat/completions", json=CHAT, headers=auth, timeout=60)
        took = time.monotonic() - started
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "store_unavailable"
        assert down.headers.get("retry-after")
        _hidden(down.text, relay.url, table)
        anthropic = httpx.post(
            f"{base}/v1/messages",
            json={**CHAT, "max_tokens": 16},
            headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
            timeout=60,
        )
        assert anthropic.status_code == 503, anthropic.text
        assert anthropic.json()["error"]["type"] == "api_error"
        _hidden(anthropic.text, relay.url, table)
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        assert took < 20, f"the 503 took {took:.1f} s"

        relay.up = True
        healed = httpx.post(f"{base}/v1/chat/completions", json=CHAT, headers=auth, timeout=30)
        assert healed.status_code == 200, healed.text
    finally:
        logs = _stop(proc)
    _hidden(logs.replace(relay.url, "<endpoint>").replace(table, "<table>"), "§", "§")
    assert SECRET_KEY not in logs


def test_a_missing_table_is_a_503(sim: Sim, moto_endpoint: str) -> None:
    table = "grokgate-table-that-does-not-exist"
    proc, base = _serve(sim, moto_endpoint, table)
    try:
        got = httpx.post(
            f"{base}/v1/chat/completions",
            json=CHAT,
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=30,
        )
        assert got.status_code == 503, got.text
        assert got.json()["error"]["code"] == "store_unavailable"
        _hidden(got.text, moto_endpoint, table)
    finally:
        _stop(proc)
