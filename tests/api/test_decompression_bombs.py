"""Decompression bombs from the network, measured on a gateway in its own process: a few
hundred KB of gzip, brotli or zstd that inflate to 300 MB, served on loopback as a client's
image URL (the fetcher, httpx), as grok.com's generated picture (the media download, curl) and
as the body of a 502 (the error classification). The gateway must refuse or classify each one
while its peak RSS (VmHWM) grows by less than ~5x the configured cap, and ``/health`` must stay
fast meanwhile (under 0.5 s). The figures are printed (``-s``)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.upstream.http import read_capped
from grokgate.upstream.xai.client import ERROR_BODY_BYTES
from tests.support import ACCOUNTS, API_KEY, Sim, serve_process

INFLATED = 300 * 1024 * 1024
CAP = 4 * 1024 * 1024
MIB = 1024 * 1024
ENCODINGS = ("gzip", "br", "zstd")


def _bomb(encoding: str) -> bytes:
    zeros = bytes(MIB)
    if encoding == "gzip":
        gz = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return b"".join(gz.compress(zeros) for _ in range(INFLATED // MIB)) + gz.flush()
    if encoding == "br":
        br = brotli.Compressor(quality=5)
        return b"".join(br.process(zeros) for _ in range(INFLATED // MIB)) + br.finish()
    zs = zstandard.ZstdCompressor(level=3).compressobj()
    return b"".join(zs.compress(zeros) for _ in range(INFLATED // MIB)) + zs.flush()


def _small(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        gz = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return gz.compress(data) + gz.flush()
    if encoding == "br":
        return bytes(brotli.compress(data))
    return zstandard.ZstdCompressor().compress(data)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection the gateway cut (it stopped reading the bomb)


class BombServer:
    """``/<enc>/...``: 200 image/png, the bomb; ``/small/<enc>/...``: a small picture in that
    encoding; ``/err/<enc>/...``: a 502 whose body is the bomb; any other path (grok.com's
    asset paths): as ``/<mode>/...``."""

    def __init__(self) -> None:
        self.bombs = {enc: _bomb(enc) for enc in ENCODINGS}
        self.hits: list[str] = []
        self.mode = "gzip"
        bombs, hits, this = self.bombs, self.hits, self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hits.append(self.path)
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                if parts[0] not in ("small", "err", *ENCODINGS):
                    parts = this.mode.split("/")
                status, enc = 200, parts[0]
                if enc == "small":
                    enc = parts[1]
                    body = _small(enc, PNG)
                else:
                    if enc == "err":
                        status, enc = 502, parts[1]
                    body = bombs.get(enc, b"")
                self.send_response(status)
                self.send_header("Content-Type", "image/png" if status == 200 else "text/html")
                self.send_header("Content-Encoding", enc)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the gateway stopped reading: the point
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def bombs() -> Iterator[BombServer]:
    server = BombServer()
    yield server
    server.close()


def hwm(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


class HealthProbe:
    """``/health`` every 20 ms in a thread; the slowest answer while it ran."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.worst = 0.0
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while True:  # at least once, however short the attack
                started = time.perf_counter()
                assert http.get(f"{self.base}/health").status_code == 200
                self.worst = max(self.worst, time.perf_counter() - started)
                self.count += 1
                if self._stop.wait(0.02):
                    return

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def gateway(sim: Sim, bombs: BombServer, tmp_path: Path) -> Iterator[tuple[int, str]]:
    env = {
        "GROKGATE_GROK_BASE_URL": sim.url,
        "GROKGATE_GROK_ASSETS_URL": bombs.url,
        "GROKGATE_DATA_DIR": str(tmp_path / "gw"),
        "GROKGATE_STATSIG_HEADER_HEX": DEMO_STATSIG_HEADER_HEX,
        "GROKGATE_STATSIG_SUFFIX": DEMO_STATSIG_SUFFIX,
        "GROKGATE_SSO_TOKENS": ",".join(f"{tier}:{token}" for tier, token in ACCOUNTS),
        "GROKGATE_API_KEYS": API_KEY,
        "GROKGATE_WEB_CHAT_TRANSPORT": "rest",
        "GROKGATE_FETCH_ALLOW_HOSTS": bombs.host,
        "GROKGATE_MAX_ATTACHMENT_BYTES": str(CAP),
        "GROKGATE_MAX_MEDIA_BYTES": str(CAP),
    }
    proc, base = serve_process(env)
    try:
        yield proc.pid, base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)


def chat_with_image(base: str, url: str) -> httpx.Response:
    part = {"type": "image_url", "image_url": {"url": url}}
    body = {
        "model": "grok-4.20-fast",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}],
    }
    auth = {"Authorization": f"Bearer {API_KEY}"}
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers=auth, timeout=120)


def lite_image(base: str) -> httpx.Response:
    body = {"model": "grok-imagine-image-lite", "prompt": "a cat", "n": 1}
    auth = {"Authorization": f"Bearer {API_KEY}"}
    return httpx.post(f"{base}/v1/images/generations", json=body, headers=auth, timeout=120)


def _report(what: str, grew: int, probe: HealthProbe) -> None:
    print(
        f"\n[bomb] {what}: peak RSS grew {grew / MIB:.1f} MiB (cap {CAP / MIB:.0f} MiB); "
        f"/health worst {probe.worst * 1000:.0f} ms over {probe.count} probes"
    )
    assert grew < 5 * CAP, f"{what}: the peak RSS grew by {grew / MIB:.0f} MiB"
    assert probe.worst < 0.5, f"{what}: /health took {probe.worst:.2f} s"


# One gateway process per case: VmHWM only ever grows, so a second bomb in the same process
# would hide under the first one's peak.


@pytest.mark.parametrize("enc", ENCODINGS)
def test_an_image_url_bomb_is_refused_within_the_cap(
    gateway: tuple[int, str], bombs: BombServer, enc: str
) -> None:
    pid, base = gateway
    # a small picture in the same encoding still arrives (and warms the decoder up)
    answer = chat_with_image(base, f"{bombs.url}/small/{enc}/cat.png")
    assert answer.status_code == 200, answer.text
    before = hwm(pid)
    with HealthProbe(base) as probe:
        answer = chat_with_image(base, f"{bombs.url}/{enc}/cat.png")
    assert answer.status_code == 400, answer.text
    assert f"larger than {CAP} bytes" in answer.json()["error"]["message"]
    _report(f"image URL {enc}", hwm(pid) - before, probe)


@pytest.mark.parametrize("enc", ENCODINGS)
def test_a_generated_picture_bomb_stops_at_the_media_cap(
    gateway: tuple[int, str], bombs: BombServer, enc: str
) -> None:
    pid, base = gateway
    bombs.mode = f"small/{enc}"  # warm-up: a small encoded picture is downloaded and decoded
    answer = lite_image(base)
    assert answer.status_code == 200, answer.text
    bombs.mode = enc
    before = hwm(pid)
    with HealthProbe(base) as probe:
        answer = lite_image(base)
    assert answer.status_code >= 400, answer.text
    assert "larger than" in answer.text
    _report(f"media download {enc}", hwm(pid) - before, probe)


@pytest.mark.parametrize("enc", ENCODINGS)
def test_a_502_bomb_from_the_asset_host_is_classified_within_the_cap(
    gateway: tuple[int, str], bombs: BombServer, enc: str
) -> None:
    pid, base = gateway
    bombs.mode = f"small/{enc}"
    assert lite_image(base).status_code == 200
    bombs.mode = f"err/{enc}"
    before = hwm(pid)
    with HealthProbe(base) as probe:
        answer = lite_image(base)
    print(f"\n[bomb]   answered {answer.status_code}: {answer.text[:160]}")
    assert answer.status_code == 502, answer.text
    _report(f"502 body from grok.com {enc}", hwm(pid) - before, probe)


@pytest.mark.parametrize("enc", ENCODINGS)
async def test_an_error_body_bomb_is_classified_without_inflating_it(
    bombs: BombServer, enc: str
) -> None:
    import tracemalloc

    async with httpx.AsyncClient() as http:
        tracemalloc.start()
        try:
            async with http.stream("GET", f"{bombs.url}/err/{enc}/x") as response:
                body = await read_capped(response, ERROR_BODY_BYTES)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    print(f"\n[bomb] xAI error body {enc}: traced peak {peak / MIB:.1f} MiB")
    assert response.status_code == 502 and body.startswith(b"\0")
    assert peak < 4 * MIB
