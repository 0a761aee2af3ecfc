"""The request's attachment total is enforced while fetching: once it is spent, the later URLs
are never requested (counted on a real loopback server)."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grokgate.core.attachments import FETCHES_AT_ONCE, AttachmentResolver, FileInput
from grokgate.errors import InvalidRequestError
from grokgate.simulator.uploads import tiny_png
from grokgate.upstream.fetch import SafeFetcher

BODY = tiny_png() + b"\x00" * (1000 - len(tiny_png()))  # 1000 bytes, sniffed as a PNG


class _Files(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Files

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        time.sleep(0.05)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if "nolength" not in self.path:
            self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # fetcher stopped
            self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def files() -> Iterator[_Files]:
    server = _Files(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _resolver(server: _Files, total: int) -> AttachmentResolver:
    host, port = server.server_address[:2]
    fetcher = SafeFetcher(max_bytes=10_000, allow_hosts=[f"{host!s}:{port}"])
    return AttachmentResolver(fetcher, max_bytes=10_000, max_total_bytes=total)


def _urls(server: _Files, count: int, tag: str = "") -> list[FileInput]:
    host, port = server.server_address[:2]
    return [FileInput(f"http://{host!s}:{port}/{tag}{i}.png") for i in range(count)]


@pytest.mark.parametrize("tag", ["", "nolength"])
async def test_later_urls_are_not_fetched_once_the_total_is_spent(files: _Files, tag: str) -> None:
    resolver = _resolver(files, total=2500)  # room for two and a half bodies
    count = FETCHES_AT_ONCE * 3
    with pytest.raises(InvalidRequestError) as info:
        await resolver.resolve(_urls(files, count, tag))
    assert info.value.code == "attachment_too_large"
    # bodies 0 and 1 fit, body 2 spends the total; only fetches already under way by then
    # (at most FETCHES_AT_ONCE - 1 besides body 2) were requested, never the rest
    assert 3 <= len(files.hits) < 3 + FETCHES_AT_ONCE < count
    assert all(f"/{tag}{i}.png" in files.hits for i in range(3))  # in order


async def test_data_uris_over_the_total_mean_no_fetch_at_all(files: _Files) -> None:
    uri = "data:image/png;base64," + base64.b64encode(BODY).decode()
    inputs = [FileInput(uri), FileInput(uri), *_urls(files, 3)]
    with pytest.raises(InvalidRequestError) as info:
        await _resolver(files, total=1500).resolve(inputs)
    assert info.value.code == "attachment_too_large"
    assert files.hits == []


async def test_within_the_total_every_url_is_fetched(files: _Files) -> None:
    got = await _resolver(files, total=6000).resolve(_urls(files, 6))
    assert [len(a.data) for a in got] == [1000] * 6
    assert len(files.hits) == 6
