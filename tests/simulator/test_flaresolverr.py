"""The fake FlareSolverr: v1 API shapes, cookies and UA from curl_cffi, proxies, delay, failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from grokgate.simulator.flaresolverr import (
    CHROME146_USER_AGENT,
    SOLVE_PATH,
    FakeFlareSolverr,
    parse_set_cookie,
)
from grokgate.simulator.proxies import ConnectProxy, ProxyThread
from grokgate.simulator.server import ServerThread
from grokgate.simulator.xai_server import Http2ServerThread

SEEN: list[dict[str, Any]] = []
BACKEND = FastAPI()


@BACKEND.get(SOLVE_PATH)
async def solve(request: Request) -> Response:
    assert request.client is not None
    SEEN.append({"client": request.client.host, "user-agent": request.headers["user-agent"]})
    response = Response(f"<html><body>{request.client.host}</body></html>", media_type="text/html")
    response.set_cookie("cf_clearance", "clear-1", secure=True, httponly=True, samesite="none")
    response.set_cookie("__cf_bm", "bm-1", max_age=1800, domain="localhost", samesite="lax")
    return response


@BACKEND.get("/cdn-cgi/no-challenge")
async def no_challenge() -> Response:
    response = Response("<html>plain</html>", media_type="text/html")
    response.set_cookie("__cf_bm", "bm-2")
    return response


@BACKEND.get("/cdn-cgi/blocked")
async def blocked() -> Response:
    return Response("<title>Access denied</title>", status_code=403)


@pytest.fixture(scope="module")
def backend() -> Iterator[Http2ServerThread]:
    with Http2ServerThread(BACKEND, tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeFlareSolverr, str]]:
    fake = FakeFlareSolverr()
    with fake.serve() as server:
        yield fake, f"{server.url}/v1"


@pytest.fixture
def solver(
    served: tuple[FakeFlareSolverr, str], backend: Http2ServerThread
) -> Iterator[tuple[FakeFlareSolverr, str]]:
    fake, url = served
    fake.reset()
    fake.ca_file, fake.solve_path = backend.ca_file, SOLVE_PATH
    SEEN.clear()
    yield fake, url


def ask(v1: str, /, **body: Any) -> httpx.Response:
    return httpx.post(v1, json={"cmd": "request.get", "maxTimeout": 60000, **body}, timeout=10)


def test_solution_carries_cookies_and_user_agent(
    solver: tuple[FakeFlareSolverr, str], backend: Http2ServerThread
) -> None:
    fake, v1 = solver
    target = backend.url.replace("127.0.0.1", "localhost") + "/c/some-chat"
    response = ask(v1, url=target)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["message"] == "Challenge solved!"
    assert body["version"] == "3.4.0" and body["startTimestamp"] <= body["endTimestamp"]
    solution = body["solution"]
    assert solution["url"] == target and solution["status"] == 200 and solution["headers"] == {}
    assert solution["userAgent"] == CHROME146_USER_AGENT and "127.0.0.1" in solution["response"]
    cookies = {c["name"]: c for c in solution["cookies"]}
    assert set(cookies) == {"cf_clearance", "__cf_bm"}
    clearance, bm = cookies["cf_clearance"], cookies["__cf_bm"]
    assert clearance["value"] == "clear-1" and clearance["domain"] == "localhost"
    assert clearance["httpOnly"] and clearance["secure"] and clearance["sameSite"] == "None"
    assert clearance["session"] and clearance["expires"] == -1 and clearance["path"] == "/"
    assert clearance["size"] == len("cf_clearance") + len("clear-1")
    assert bm["domain"] == ".localhost" and bm["sameSite"] == "Lax" and not bm["session"]
    assert abs(bm["expires"] - (time.time() + 1800)) < 30 and bm["expiry"] == int(bm["expires"])
    assert SEEN == [{"client": "127.0.0.1", "user-agent": CHROME146_USER_AGENT}]
    (record,) = fake.records
    assert (record.url, record.proxy, record.max_timeout) == (target, None, 60000)
    assert record.outcome == "ok" and record.status == 200 and record.ended is not None
    assert record.cookies == ["cf_clearance", "__cf_bm"] and record.ended >= record.started


def test_solve_through_a_proxy_egresses_from_its_address(
    solver: tuple[FakeFlareSolverr, str], backend: Http2ServerThread
) -> None:
    fake, v1 = solver
    proxy = ConnectProxy(username="u", password="p", source_address="127.0.0.2")
    with ProxyThread(proxy):
        assert ask(v1, url=backend.url, proxy={"url": proxy.url}).json()["status"] == "ok"
        split = {"url": proxy.url_with(), "username": "u", "password": "p"}  # FlareSolverr's form
        assert ask(v1, url=backend.url, proxy=split).json()["status"] == "ok"
    assert [seen["client"] for seen in SEEN] == ["127.0.0.2", "127.0.0.2"]
    assert [r.kind for r in proxy.records] == ["connect", "connect"]
    assert all(r.authenticated for r in proxy.records)
    assert [r.proxy for r in fake.records] == [proxy.url, proxy.url]
    response = ask(v1, url=backend.url, proxy={"url": proxy.url})  # the proxy is gone now
    assert response.status_code == 500
    message = response.json()["message"]
    assert message.startswith("Error: Error solving the challenge. Failed to perform, curl: (7)")
    assert fake.records[-1].outcome == "error" and fake.records[-1].message in message


def test_failure_modes(solver: tuple[FakeFlareSolverr, str], backend: Http2ServerThread) -> None:
    fake, v1 = solver
    fake.fail, fake.fail_times = "net::ERR_TUNNEL_CONNECTION_FAILED", 1
    failed = ask(v1, url=backend.url)
    assert failed.status_code == 500
    body = failed.json()
    assert body["status"] == "error" and "solution" not in body
    assert (
        body["message"] == "Error: Error solving the challenge. net::ERR_TUNNEL_CONNECTION_FAILED"
    )
    assert set(body) == {"status", "message", "startTimestamp", "endTimestamp", "version"}
    assert ask(v1, url=backend.url).status_code == 200  # fail_times ran out
    fake.solve_path = "/cdn-cgi/blocked"
    message = ask(v1, url=backend.url).json()["message"]
    assert message.startswith("Error: Error solving the challenge. Cloudflare has blocked this")
    fake.solve_path = "/cdn-cgi/no-challenge"
    plain = ask(v1, url=backend.url).json()
    assert plain["message"] == "Challenge not detected!"
    assert [c["name"] for c in plain["solution"]["cookies"]] == ["__cf_bm"]
    fake.delay = 1.0
    timed_out = ask(v1, url=backend.url, maxTimeout=200)
    assert timed_out.json()["message"] == (
        "Error: Error solving the challenge. Timeout after 0.2 seconds."
    )
    assert [r.outcome for r in fake.records] == ["error", "ok", "error", "ok", "error"]


async def test_delay_lets_requests_pile_up(
    solver: tuple[FakeFlareSolverr, str], backend: Http2ServerThread
) -> None:
    fake, v1 = solver
    fake.delay = 0.4
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        body = {"cmd": "request.get", "url": backend.url}
        answers = await asyncio.gather(*(client.post(v1, json=body) for _ in range(5)))
    assert [a.json()["status"] for a in answers] == ["ok"] * 5
    assert fake.max_in_flight == 5 and fake.in_flight == 0
    assert time.monotonic() - started < 1.5  # concurrent, not 5 × 0.4 s
    assert all(r.ended is not None and r.ended - r.started >= 0.4 for r in fake.records)


def test_request_errors_have_flaresolverr_shape(solver: tuple[FakeFlareSolverr, str]) -> None:
    fake, v1 = solver
    cases = [
        (b"{not json", "Error: Request body is not valid JSON."),
        (b"[]", "Error: Request body must be a JSON object."),
        (b"{}", "Error: Request parameter 'cmd' is mandatory."),
        (b'{"cmd": "sessions.create"}', "Error: Request parameter 'cmd' = 'sessions.create' is"),
        (b'{"cmd": "request.get"}', "Error: Request parameter 'url' is mandatory in 'request.get"),
    ]
    for content, message in cases:
        response = httpx.post(v1, content=content, headers={"content-type": "application/json"})
        assert response.status_code == 500
        body = response.json()
        assert body["status"] == "error" and body["message"].startswith(message)
        assert body["version"] == "3.4.0" and body["startTimestamp"] <= body["endTimestamp"]
    assert fake.records == []  # only request.get with a url makes a solve
    root = httpx.get(v1.removesuffix("/v1")).json()
    assert root == {
        "msg": "FlareSolverr is ready!",
        "version": "3.4.0",
        "userAgent": fake.user_agent,
    }
    assert httpx.get(v1.replace("/v1", "/health")).json() == {"status": "ok"}


def test_parse_set_cookie() -> None:
    cookie = parse_set_cookie(
        "cf_clearance=abc; Path=/x; Domain=.grok.com; Expires=Wed, 21 Oct 2037 07:28:00 GMT; "
        "Secure; SameSite=Strict",
        "grok.com",
    )
    assert cookie["domain"] == ".grok.com" and cookie["path"] == "/x"
    expires = datetime(2037, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert cookie["expires"] == expires and cookie["expiry"] == int(expires)
    assert cookie["secure"] and not cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["session"]
    assert parse_set_cookie("a=", "h", now=100.0)["expires"] == -1
    assert parse_set_cookie("a=b; Max-Age=10", "h", now=100.0)["expires"] == 110.0


def test_serve_runs_under_server_thread() -> None:
    fake = FakeFlareSolverr(user_agent="UA/1.0", version="3.3.21")
    with fake.serve() as server:
        assert isinstance(server, ServerThread)
        assert httpx.get(server.url).json()["userAgent"] == "UA/1.0"
