"""fetch_user_id (``GET /api/auth/session``) against an httpx.MockTransport upstream."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from grokgate.errors import UpstreamError, UpstreamTimeoutError, Verdict
from grokgate.stores.records import Account
from grokgate.upstream.grokweb.session import SESSION_BODY_LIMIT, SESSION_PATH, fetch_user_id
from tests.upstream.browser_support import UA, web_over

TOKEN = "sso-session-test-eyJhbGciOiJIUzI1NiJ9"
ACCOUNT = Account(id="acct_s", token=SecretStr(TOKEN))
UID = "0b9c1f3e-5d7a-4e2b-9c8d-1a2b3c4d5e6f"
BASE = "https://grok.test"


async def fetch(
    handler: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> tuple[str, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    cf = kw.pop("cf_cookies", None)
    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        uid = await fetch_user_id(web_over(http, BASE + "/", cf_cookies=cf), ACCOUNT, **kw)
    return uid, seen


def answer(status: int = 200, **kw: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, **kw)


async def test_authenticated_session_gives_session_user_id() -> None:
    body = {
        "status": "authenticated",
        "session": {"userId": UID, "expires": "2030-01-01T00:00:00Z"},
        "user": {"id": "other", "email": "sso-@sim.grok", "tier": "super"},
    }
    uid, seen = await fetch(answer(json=body), cf_cookies="cf_clearance=cf1")
    assert uid == UID
    (request,) = seen
    assert request.method == "GET" and request.url == BASE + SESSION_PATH
    assert request.headers["Cookie"] == f"sso={TOKEN}; sso-rw={TOKEN}; cf_clearance=cf1"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == UA
    assert request.headers["Origin"] == "https://grok.com"
    assert request.headers["Referer"] == "https://grok.com/"
    assert "x-statsig-id" not in request.headers


async def test_user_id_when_the_session_has_none() -> None:
    uid, _ = await fetch(answer(json={"status": "authenticated", "user": {"id": UID}}))
    assert uid == UID


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (200, {"status": "unauthenticated"}, Verdict.EXPIRED),
        (200, {"status": "blocked", "user": {"id": UID}}, Verdict.BLOCKED),
        (200, {"status": "authenticated"}, Verdict.UNAVAILABLE),
        (200, {"status": "authenticated", "user": {"id": ""}}, Verdict.UNAVAILABLE),
        (200, {"status": "authenticated", "user": {"id": "a\r\nb"}}, Verdict.UNAVAILABLE),
        (200, ["not", "an", "object"], Verdict.UNAVAILABLE),
        (401, {"error": {"code": 16, "message": "[WKE=unauthorized:invalid-credentials]"}},
         Verdict.EXPIRED),
        (403, {"error": {"message": "[WKE=unauthorized:blocked-user]"}}, Verdict.BLOCKED),
        (429, {"error": "Too many requests"}, Verdict.RATE_LIMITED),
        (500, {"error": "boom"}, Verdict.UNAVAILABLE),
    ],
)  # fmt: skip
async def test_failures_carry_verdicts(status: int, body: Any, verdict: Verdict) -> None:
    with pytest.raises(UpstreamError) as info:
        await fetch(answer(status, json=body))
    assert info.value.verdict is verdict
    assert TOKEN not in info.value.message


async def test_not_json_and_too_large() -> None:
    with pytest.raises(UpstreamError, match="not JSON"):
        await fetch(answer(content=b"<html>"))
    huge = json.dumps({"status": "authenticated", "pad": "x" * SESSION_BODY_LIMIT}).encode()
    with pytest.raises(UpstreamError, match="too large"):
        await fetch(answer(content=huge))


async def test_timeout_and_transport_errors() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamTimeoutError):
        await fetch(slow)
    with pytest.raises(UpstreamError, match="ConnectError") as info:
        await fetch(refused)
    assert info.value.verdict is Verdict.UNAVAILABLE
