"""Shared pieces of the media client tests: a scripted MockTransport upstream and a client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.media_client import GrokMediaClient
from tests.upstream.browser_support import web_over
from tests.upstream.test_gw_client import Chunks, FakeSigner

BASE = "https://grok.test"
ASSETS = "https://cdn.test/assets"
TOKEN = "sso-media-test-eyJhbGciOiJIUzI1NiJ9"
ACCOUNT = Account(id="acct_media", token=SecretStr(TOKEN))
COOKIE = f"sso={TOKEN}; sso-rw={TOKEN}"
PNG = Attachment("a.png", "image/png", b"\x89PNG fake")
CONVERSATION = {"result": {"conversation": {"conversationId": "c1"}}}
Handler = Callable[[httpx.Request], httpx.Response]


class Upstream:
    """Routes by path; records every request (body read)."""

    def __init__(self, routes: dict[str, Handler | list[Handler]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        if route is None:
            return httpx.Response(404, json={"error": {"code": 5, "message": "not found"}})
        if isinstance(route, list):
            return route.pop(0)(request) if len(route) > 1 else route[0](request)
        return route(request)

    def on(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def stream(body: bytes, status: int = 200) -> Handler:
    return lambda _: httpx.Response(
        status, headers={"content-type": "application/x-ndjson"}, stream=Chunks([body])
    )


def status(code: int, text: str = "", **headers: str) -> Handler:
    return lambda _: httpx.Response(code, text=text, headers=headers)


def uploads() -> Handler:
    count = 0

    def answer(_: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        meta = {"fileMetadataId": f"file-{count}", "fileUri": f"users/u1/file-{count}/content"}
        return httpx.Response(
            200, json={"uploadId": "u", "terminalError": None, "fileMetadata": meta}
        )

    return answer


def client(upstream: Upstream, signer: FakeSigner | None = None, **kw: Any) -> GrokMediaClient:
    cf = kw.pop("cf_cookies", None)
    web = web_over(httpx.AsyncClient(transport=httpx.MockTransport(upstream)), BASE, cf_cookies=cf)
    media = GrokMediaClient(web, signer=signer or FakeSigner(), assets_url=ASSETS, **kw)
    media.download_retry_delays = (0.0, 0.0)
    return media
