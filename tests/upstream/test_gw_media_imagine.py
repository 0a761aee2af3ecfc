"""GrokMediaClient.imagine against a small in-test imagine WebSocket server (no simulator)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from grokgate.errors import (
    ContentModeratedError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    Verdict,
)
from grokgate.stores.records import Account
from grokgate.upstream.grokweb.media_client import GrokMediaClient
from grokgate.upstream.grokweb.web import GrokWeb
from tests.upstream.browser_support import UA, curl_web, live_web
from tests.upstream.test_gw_client import FakeSigner

TOKEN = "sso-imagine-test-eyJhbGciOiJIUzI1NiJ9"
ACCOUNT = Account(id="acct_img", token=SecretStr(TOKEN))
CREDENTIALS = (
    '{"error":{"code":16,"message":"Failed to look up session ID. '
    '[WKE=unauthorized:invalid-credentials]","details":[]}}'
)


def jpeg(tag: str) -> bytes:
    return b"\xff\xd8\xff\xe0" + tag.encode() + b"\xff\xd9"


@dataclass
class FakeImagine:
    """Answers each request with min(num_generations, per_round) slots, interleaved."""

    per_round: int = 2
    moderate: Callable[[int, int], bool] = lambda _round, _slot: False
    refuse: tuple[int, dict[str, str], str] | None = None
    error_in_round: int | None = None
    stall_in_round: int | None = None
    close_in_round: int | None = None
    sequential: bool = False  # one slot after the other, as the simulator does
    rounds: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    resets: int = 0
    headers: list[Headers] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends a stall

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.headers.append(request.headers)
        if self.refuse is None:
            return None
        status, headers, body = self.refuse
        response = connection.respond(status, body)
        for key, value in headers.items():
            response.headers[key] = value
        return response

    async def handler(self, ws: ServerConnection) -> None:
        async for message in ws:
            content = json.loads(message)["item"]["content"][0]
            if content["type"] == "reset":
                self.resets += 1
                continue
            self.requests.append(content)
            self.rounds += 1
            if self.rounds == self.error_in_round:
                await ws.send(json.dumps({"type": "error", "err_code": "internal", "err_msg": "x"}))
                continue
            if self.rounds == self.close_in_round:
                await ws.close()
                return
            if self.rounds == self.stall_in_round:
                await self.release.wait()
            count = min(content["properties"]["num_generations"], self.per_round)
            if self.sequential:
                for k in range(count):
                    await self._round(ws, 1, first=k)
                    await asyncio.sleep(0.02)
            else:
                await self._round(ws, count)

    async def _round(self, ws: ServerConnection, count: int, first: int = 0) -> None:
        ids = [f"r{self.rounds}s{k}" for k in range(first, first + count)]
        for k, ident in enumerate(ids, first):
            await ws.send(json.dumps({"type": "json", "current_status": "start_stage",
                                      "image_id": ident, "order": k, "width": 832,
                                      "height": 1248}))  # fmt: skip
        for k, ident in enumerate(ids, first):
            url = f"https://assets.grok.com/users/u1/generated/{ident}/image.jpg"
            preview = base64.b64encode(jpeg("preview")).decode()
            await ws.send(json.dumps({"type": "image", "url": url, "blob": preview,
                                      "percentage_complete": 50, "order": k}))  # fmt: skip
        for k, ident in reversed(list(enumerate(ids, first))):
            moderated = self.moderate(self.rounds, k)
            if not moderated:
                url = f"https://assets.grok.com/users/u1/generated/{ident}/image.jpg"
                blob = base64.b64encode(jpeg(ident)).decode()
                await ws.send(json.dumps({"type": "image", "url": url, "blob": blob,
                                          "percentage_complete": 100, "order": k,
                                          "width": 832, "height": 1248, "id": ident}))  # fmt: skip
            await ws.send(json.dumps({"type": "json", "current_status": "completed",
                                      "image_id": ident, "moderated": moderated,
                                      "r_rated": False, "order": k}))  # fmt: skip


Factory = Callable[..., Awaitable[tuple[FakeImagine, GrokMediaClient]]]


@pytest.fixture
async def imagine_server() -> AsyncIterator[Factory]:
    servers: list[tuple[Any, FakeImagine]] = []
    webs: list[GrokWeb] = []

    async def start(**kw: Any) -> tuple[FakeImagine, GrokMediaClient]:
        deadline = kw.pop("deadline", 10.0)
        fake = FakeImagine(**kw)
        server = await serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request)
        servers.append((server, fake))
        port = server.sockets[0].getsockname()[1]
        web = curl_web(
            f"http://127.0.0.1:{port}/",
            cf_cookies="cf_clearance=cf1",
            deadline=deadline,
            connect_timeout=5.0,
        )
        webs.append(web)
        client = GrokMediaClient(web, signer=FakeSigner(), assets_url="http://127.0.0.1:1/assets")
        client.round_grace = 0.1
        return fake, client

    yield start
    for server, fake in servers:
        fake.release.set()
        server.close()
        await server.wait_closed()
    for web in webs:
        await web.browser.aclose()


async def test_two_rounds_for_three_images(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=2)
    images = await client.imagine(ACCOUNT, "a red fox", n=3, aspect_ratio="2:3", pro=False)
    assert [i.image_id for i in images] == ["r1s0", "r1s1", "r2s0"]
    assert [r["properties"]["num_generations"] for r in fake.requests] == [3, 1]
    assert fake.resets == 2
    first = images[0]
    assert first.data == jpeg("r1s0")
    assert first.url == "http://127.0.0.1:1/assets/users/u1/generated/r1s0/image.jpg"
    assert (first.width, first.height, first.public, first.mime) == (832, 1248, False, "image/jpeg")
    request = fake.requests[0]
    assert request["text"] == "a red fox"
    assert request["properties"]["aspect_ratio"] == "2:3"
    assert request["properties"]["enable_pro"] is False


async def test_slots_sent_one_after_the_other(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=2, sequential=True)
    images = await client.imagine(ACCOUNT, "p", n=3, aspect_ratio="2:3", pro=False)
    assert [i.image_id for i in images] == ["r1s0", "r1s1", "r2s0"]
    assert [r["properties"]["num_generations"] for r in fake.requests] == [3, 1]


async def test_handshake_headers(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=1)
    await client.imagine(ACCOUNT, "p", n=1, aspect_ratio="1:1", pro=True)
    (headers,) = fake.headers
    assert headers["Origin"] == "https://grok.com"
    assert headers["User-Agent"] == UA
    assert headers["Cookie"] == f"sso={TOKEN}; sso-rw={TOKEN}; cf_clearance=cf1"
    assert headers["Accept-Language"].startswith("zh-CN")
    assert headers["Cache-Control"] == "no-cache" and headers["Pragma"] == "no-cache"
    assert "x-userid" not in headers["Cookie"] and "x-statsig-id" not in headers
    assert fake.requests[0]["properties"]["enable_pro"] is True


async def test_moderated_slots_are_dropped_and_more_rounds_run(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=2, moderate=lambda r, k: r == 1 and k == 0)
    images = await client.imagine(ACCOUNT, "p", n=2, aspect_ratio="1:1", pro=False)
    assert [i.image_id for i in images] == ["r1s1", "r2s0"]
    assert [r["properties"]["num_generations"] for r in fake.requests] == [2, 1]


async def test_everything_moderated(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=2, moderate=lambda r, k: True)
    with pytest.raises(ContentModeratedError):
        await client.imagine(ACCOUNT, "p", n=2, aspect_ratio="1:1", pro=False)
    assert fake.rounds == 1  # a round with nothing new ends the call


async def test_fewer_than_n_when_a_round_brings_nothing(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=2, moderate=lambda r, k: r >= 2)
    images = await client.imagine(ACCOUNT, "p", n=4, aspect_ratio="1:1", pro=False)
    assert [i.image_id for i in images] == ["r1s0", "r1s1"]
    assert fake.rounds == 2


async def test_round_limit(imagine_server: Factory) -> None:
    fake, client = await imagine_server(per_round=1)
    images = await client.imagine(ACCOUNT, "p", n=9, aspect_ratio="1:1", pro=False)
    assert len(images) == 5 and fake.rounds == 5


@pytest.mark.parametrize(
    ("status", "headers", "body", "verdict"),
    [
        (401, {}, CREDENTIALS, Verdict.EXPIRED),
        (429, {"Retry-After": "42"}, "Too many requests", Verdict.RATE_LIMITED),
        (403, {"cf-mitigated": "challenge"}, "<html>Just a moment...</html>", Verdict.CHALLENGED),
    ],
)
async def test_handshake_refusals(
    imagine_server: Factory, status: int, headers: dict[str, str], body: str, verdict: Verdict
) -> None:
    _, client = await imagine_server(refuse=(status, headers, body))
    with pytest.raises(UpstreamError) as info:
        await client.imagine(ACCOUNT, "p", n=1, aspect_ratio="1:1", pro=False)
    assert info.value.verdict is verdict
    assert info.value.upstream_status == status
    if status == 429:
        assert info.value.retry_after == 42
    assert TOKEN not in info.value.message
    assert isinstance(info.value.__cause__, Exception)


async def test_error_frame(imagine_server: Factory) -> None:
    _, client = await imagine_server(error_in_round=1)
    with pytest.raises(UpstreamError, match="imagine socket reported an error") as info:
        await client.imagine(ACCOUNT, "p", n=1, aspect_ratio="1:1", pro=False)
    assert info.value.verdict is Verdict.UNAVAILABLE


async def test_deadline_keeps_what_earlier_rounds_gave(imagine_server: Factory) -> None:
    _, client = await imagine_server(per_round=1, stall_in_round=2, deadline=1.0)
    images = await client.imagine(ACCOUNT, "p", n=2, aspect_ratio="1:1", pro=False)
    assert [i.image_id for i in images] == ["r1s0"]


async def test_deadline_without_images(imagine_server: Factory) -> None:
    _, client = await imagine_server(stall_in_round=1, deadline=0.5)
    with pytest.raises(UpstreamTimeoutError):
        await client.imagine(ACCOUNT, "p", n=1, aspect_ratio="1:1", pro=False)


async def test_closed_socket(imagine_server: Factory) -> None:
    _, client = await imagine_server(per_round=1, close_in_round=2)
    images = await client.imagine(ACCOUNT, "p", n=2, aspect_ratio="1:1", pro=False)
    assert [i.image_id for i in images] == ["r1s0"]
    _, client = await imagine_server(close_in_round=1)
    with pytest.raises(UpstreamStreamError):
        await client.imagine(ACCOUNT, "p", n=2, aspect_ratio="1:1", pro=False)


async def test_nobody_listening() -> None:
    async with live_web("http://127.0.0.1:1") as web:
        client = GrokMediaClient(web, signer=FakeSigner())
        with pytest.raises(UpstreamError, match="could not open"):
            await client.imagine(ACCOUNT, "p", n=1, aspect_ratio="1:1", pro=False)
