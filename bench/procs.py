"""What the network benchmarks share: servers in their own processes on loopback, a stream
timer for OpenAI-shaped SSE and grok.com NDJSON, percentiles and peak RSS.

Every server runs as a child process (its own interpreter and event loop, as in production),
logs to a file in a temp dir, and is stopped with the benchmark.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BENCH_API_KEY = "sk-bench-0123456789abcdef"
BENCH_XAI_KEY = "xai-bench-0123456789abcdefghij"
# grok.com accounts of the simulator: grokgate's pool (8 requests in flight each at most, so 8
# carry 64 concurrent streams) and others for the direct requests, so the direct traffic never
# spends the quota of an account grokgate counts on. Heavy: 400 fast answers per window each.
GATEWAY_SSO = tuple(f"sso-bench-gateway-{i}-eyJhbGciOiJIUzI1NiJ9" for i in range(8))
DIRECT_SSO = tuple(f"sso-bench-direct-{i}-eyJhbGciOiJIUzI1NiJ9" for i in range(4))
_direct_turn = itertools.cycle(DIRECT_SSO)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mb(self) -> float:
        """The process's high-water resident set (Linux ``VmHWM``), in MiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


class Servers:
    """Child processes started for one benchmark run; all stopped on exit."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="grokgate-bench-"))
        self.started: list[Server] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        health: str = "/health",
        timeout: float = 120.0,
    ) -> Server:
        log = self.dir / f"{name}.log"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
        child_env.update(env or {})
        with log.open("wb") as out:
            proc = subprocess.Popen(
                list(argv), cwd=self.dir, env=child_env, stdout=out, stderr=subprocess.STDOUT
            )
        server = Server(name, f"http://127.0.0.1:{port}", proc, log)
        self.started.append(server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(server.url + health, timeout=2).status_code < 500:
                    return server
            time.sleep(0.2)
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{name} did not start (exit {proc.poll()}):\n{tail}")

    def stop(self) -> None:
        for server in self.started:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGINT)
        for server in self.started:
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def start_upstreams(servers: Servers, token_delay: float) -> tuple[Server, Server]:
    """The fake xAI API and the grok.com simulator, each in its own process."""
    xai_port, sim_port = free_port(), free_port()
    xai = servers.start(
        "xai-fake",
        python_module(
            "grokgate.simulator.xai_server",
            *("--port", str(xai_port), "--key", BENCH_XAI_KEY),
            *("--token-delay", str(token_delay)),
        ),
        port=xai_port,
        health="/v1/models",
    )
    sim = servers.start(
        "grok-sim",
        python_module(
            "grokgate.simulator.server",
            "--port",
            str(sim_port),
            *(f"--account={token}:heavy" for token in (*GATEWAY_SSO, *DIRECT_SSO)),
            *("--token-delay", str(token_delay)),
        ),
        port=sim_port,
        health="/rest/rate-limits",
    )
    return xai, sim


def start_grokgate(servers: Servers, xai: Server, sim: Server, **env: str) -> Server:
    """``grokgate serve`` (its README command) in front of both upstreams, default settings
    otherwise: SQLite pool, INFO logs (uvicorn's access log included)."""
    from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX

    port = free_port()
    settings = {
        "GROKGATE_API_KEYS": BENCH_API_KEY,
        "GROKGATE_DATA_DIR": str(servers.dir / "grokgate-data"),
        "GROKGATE_XAI_BASE_URL": xai.url,
        "GROKGATE_XAI_API_KEYS": BENCH_XAI_KEY,
        "GROKGATE_GROK_BASE_URL": sim.url,
        "GROKGATE_GROK_ASSETS_URL": f"{sim.url}/assets",
        "GROKGATE_SSO_TOKENS": ",".join(f"heavy:{token}" for token in GATEWAY_SSO),
        "GROKGATE_STATSIG_HEADER_HEX": DEMO_STATSIG_HEADER_HEX,
        "GROKGATE_STATSIG_SUFFIX": DEMO_STATSIG_SUFFIX,
        "GROKGATE_WEB_CHAT_TRANSPORT": "rest",
    }
    settings.update(env)
    return servers.start(
        "grokgate",
        python_module("grokgate.cli", "serve", "--no-demo", "--port", str(port)),
        port=port,
        env=settings,
    )


@dataclass
class Timing:
    ttft: float  # seconds to the first content token
    total: float  # seconds to the end of the answer
    chunks: int  # content chunks received
    text: str


async def openai_chat(
    client: httpx.AsyncClient, url: str, key: str, body: Mapping[str, object]
) -> Timing:
    """POST an OpenAI chat completion; time the first content token and the whole answer."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}"}
    if not body.get("stream"):
        response = await client.post(url, json=body, headers=headers)
        done = time.perf_counter() - started
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"] or ""
        return Timing(done, done, 1, text)
    first = 0.0
    parts: list[str] = []
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            if "error" in chunk:
                raise RuntimeError(f"error event: {chunk['error']}")
            choices = chunk.get("choices") or [{}]
            content = (choices[0].get("delta") or {}).get("content")
            if content:
                first = first or time.perf_counter() - started
                parts.append(content)
    return Timing(first, time.perf_counter() - started, len(parts), "".join(parts))


async def grok_web_chat(client: httpx.AsyncClient, base: str, message: str, mode: str) -> Timing:
    """One grok.com ``conversations/new`` NDJSON answer straight from the simulator, with the
    same headers, cookies and in-process x-statsig-id grokgate sends (signing included)."""
    from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
    from grokgate.upstream.browser.profiles import resolve
    from grokgate.upstream.grokweb.request import (
        CHAT_PATH,
        api_headers,
        chat_body,
        cookie_header,
    )
    from grokgate.upstream.grokweb.statsig import InProcessSigner

    started = time.perf_counter()
    signer = InProcessSigner(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), DEMO_STATSIG_SUFFIX)
    headers = api_headers(
        cookie=cookie_header(next(_direct_turn)),
        statsig=await signer.sign("POST", CHAT_PATH),
        fingerprint=resolve(None, None),
    )
    first = 0.0
    parts: list[str] = []
    body = chat_body(message, mode)
    async with client.stream("POST", base + CHAT_PATH, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            frame = json.loads(line)
            answer = (frame.get("result") or {}).get("response") or {}
            token = answer.get("token")
            if token and not answer.get("isThinking"):
                first = first or time.perf_counter() - started
                parts.append(token)
    return Timing(first, time.perf_counter() - started, len(parts), "".join(parts))


def loopback_client(concurrency: int = 1) -> httpx.AsyncClient:
    """Keep-alive HTTP/1.1 client with room for ``concurrency`` connections (no proxies)."""
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(timeout=120, limits=limits, trust_env=False)
