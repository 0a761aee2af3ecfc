"""The edge in cloudflare mode: block what is not Chrome, challenge Chrome without a clearance,
mint clearances bound to the source IP and User-Agent."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from curl_cffi.curl import CurlError

from grokgate.simulator.edge import SOLVE_PATH, Edge, EdgeThread
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import CHAT_PATH
from tests.simulator.edge.edge_support import chrome, only_connection, python_client

if TYPE_CHECKING:
    from tests.simulator.conftest import Sim

OTHER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/146.0.0.0"


def _is_block_page(response: Any) -> bool:
    return (
        response.status_code == 403
        and "<title>Attention Required! | Cloudflare</title>" in response.text
        and "Sorry, you have been blocked" in response.text
        and response.headers["server"] == "cloudflare"
        and "cf-mitigated" not in response.headers
    )


def _is_challenge(response: Any) -> bool:
    text = response.text
    return (
        response.status_code == 403
        and response.headers["cf-mitigated"] == "challenge"
        and response.headers["server"] == "cloudflare"
        and response.headers["content-type"] == "text/html; charset=UTF-8"
        and "<title>Just a moment...</title>" in text
        and "_cf_chl_opt" in text
        and "challenge-platform" in text
    )


@pytest.mark.parametrize("http2", [True, False])
async def test_python_stack_gets_the_block_page(cloudflare: EdgeThread, http2: bool) -> None:
    async with python_client(cloudflare, http2) as client:
        first = await client.get(f"{cloudflare.url}/echo")
        posted = await client.post(f"{cloudflare.url}/echo", content=b"x" * 200_000)
        solve = await client.get(f"{cloudflare.url}{SOLVE_PATH}")
    assert all(_is_block_page(r) for r in (first, posted, solve))
    assert first.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
    assert "set-cookie" not in solve.headers
    record = only_connection(cloudflare)  # one keep-alive connection served all three
    assert [r.outcome for r in record.requests] == ["blocked"] * 3
    assert record.requests[0].note is not None and "no GREASE" in record.requests[0].note
    assert cloudflare.blocks["127.0.0.1"] == 3 and not cloudflare.clearances_issued


async def test_chrome_is_challenged_then_served_after_solving(cloudflare: EdgeThread) -> None:
    async with chrome(cloudflare) as s:
        challenged = await s.get(f"{cloudflare.url}/echo")
        solved = await s.get(f"{cloudflare.url}{SOLVE_PATH}")
        served = await s.get(f"{cloudflare.url}/echo")
        posted = await s.post(f"{cloudflare.url}/echo", json={"a": 1})
    assert _is_challenge(challenged)
    assert solved.status_code == 200
    cookies = solved.headers.get_list("set-cookie")
    clearance = next(c for c in cookies if c.startswith("cf_clearance="))
    for attribute in ("Path=/", "Domain=localhost", "HttpOnly", "Secure", "SameSite=None"):
        assert attribute in clearance
    assert any(c.startswith("__cf_bm=") for c in cookies)
    assert served.status_code == posted.status_code == 200
    assert served.headers["server"] == "cloudflare" and "cf-ray" in served.headers
    backend_headers = dict(served.json()["headers"])
    assert "cf_clearance=" in backend_headers["cookie"]
    assert backend_headers["x-edge-client-ip"] == "127.0.0.1"
    assert cloudflare.challenges == {"127.0.0.1": 1}
    assert cloudflare.clearances_issued == {"127.0.0.1": 1}
    record = only_connection(cloudflare)
    assert [r.outcome for r in record.requests] == [
        "challenged",
        "solved",
        "forwarded",
        "forwarded",
    ]


async def _clearance(edge: EdgeThread, **options: Any) -> tuple[str, str]:
    """Solve once; returns (cf_clearance, the User-Agent it was issued to)."""
    async with chrome(edge, **options) as s:
        response = await s.get(f"{edge.url}{SOLVE_PATH}")
        assert response.status_code == 200
        value = s.cookies.get("cf_clearance")
    assert value
    return value, edge.connections[-1].requests[-1].user_agent


async def test_clearance_is_bound_to_the_source_ip(cloudflare: EdgeThread) -> None:
    clearance, _ = await _clearance(cloudflare)
    cookie = {"cookie": f"cf_clearance={clearance}"}
    async with chrome(cloudflare, interface="127.0.0.2") as s:
        elsewhere = await s.get(f"{cloudflare.url}/echo", headers=cookie)
    async with chrome(cloudflare) as s:
        here = await s.get(f"{cloudflare.url}/echo", headers=cookie)
    assert _is_challenge(elsewhere)
    assert here.status_code == 200
    assert cloudflare.challenges == {"127.0.0.2": 1}
    note = next(r.note for c in cloudflare.connections for r in c.requests if r.note)
    assert note is not None and "not issued to this IP" in note


async def test_clearance_is_bound_to_the_user_agent(cloudflare: EdgeThread) -> None:
    clearance, user_agent = await _clearance(cloudflare)
    assert "Chrome/146" in user_agent
    async with chrome(cloudflare) as s:
        other = await s.get(
            f"{cloudflare.url}/echo",
            headers={"cookie": f"cf_clearance={clearance}", "user-agent": OTHER_UA},
        )
        same = await s.get(
            f"{cloudflare.url}/echo", headers={"cookie": f"cf_clearance={clearance}"}
        )
    assert _is_challenge(other) and same.status_code == 200


async def test_revoking_clearances_forces_a_new_challenge(cloudflare: EdgeThread) -> None:
    async with chrome(cloudflare) as s:
        await s.get(f"{cloudflare.url}{SOLVE_PATH}")
        assert (await s.get(f"{cloudflare.url}/echo")).status_code == 200
        cloudflare.revoke_clearances()
        assert _is_challenge(await s.get(f"{cloudflare.url}/echo"))
        await s.get(f"{cloudflare.url}{SOLVE_PATH}")
        assert (await s.get(f"{cloudflare.url}/echo")).status_code == 200
    assert cloudflare.clearances_issued == {"127.0.0.1": 2}


async def test_clearance_expires(backend: ServerThread) -> None:
    now = [1_800_000_000.0]
    edge = Edge(backend.url, mode="cloudflare", clearance_ttl=60, clock=lambda: now[0])
    async with edge, chrome(edge) as s:
        await s.get(f"{edge.url}{SOLVE_PATH}")
        now[0] += 59
        assert (await s.get(f"{edge.url}/echo")).status_code == 200
        now[0] += 2
        assert _is_challenge(await s.get(f"{edge.url}/echo"))
    assert edge.connections[-1].requests[-1].note == "cf_clearance expired"


async def test_fingerprint_only_mode(backend: ServerThread) -> None:
    async with Edge(backend.url, mode="cloudflare", require_clearance=False) as edge:
        async with chrome(edge) as s:
            assert (await s.get(f"{edge.url}/echo")).status_code == 200
        async with python_client(edge, http2=True) as client:
            assert _is_block_page(await client.get(f"{edge.url}/echo"))
    assert not edge.challenges and edge.blocks == {"127.0.0.1": 1}


async def test_websocket_needs_a_clearance_too(cloudflare: EdgeThread) -> None:
    url = f"wss://localhost:{cloudflare.port}/ws"
    async with chrome(cloudflare) as s:
        with pytest.raises(CurlError, match="403"):
            await s.ws_connect(url)
        await s.get(f"{cloudflare.url}{SOLVE_PATH}")
        ws = await s.ws_connect(url)
        first = json.loads(await ws.recv_str())
        await ws.send_str("hi")
        assert await ws.recv_str() == "echo:hi"
        await ws.close()
    assert first == {"client_ip": "127.0.0.1"}
    outcomes = [(r.websocket, r.outcome) for c in cloudflare.connections for r in c.requests]
    assert outcomes == [(True, "challenged"), (False, "solved"), (True, "forwarded")]


async def test_simulator_chat_through_the_edge(sim: Sim) -> None:
    """The grok.com simulator behind the edge: a Chrome client solves, then chats."""
    token = "tok-super"
    with EdgeThread(sim.url, mode="cloudflare") as edge:
        async with chrome(edge) as s:
            body = {"message": "[user]: hello", "modeId": "auto"}
            headers = {**sim.headers(), "cookie": f"sso={token}; sso-rw={token}"}
            assert _is_challenge(await s.post(f"{edge.url}{CHAT_PATH}", json=body, headers=headers))
            await s.get(f"{edge.url}{SOLVE_PATH}")
            response = await s.post(f"{edge.url}{CHAT_PATH}", json=body, headers=headers)
    assert response.status_code == 200
    frames = [json.loads(line) for line in response.text.splitlines() if line]
    assert frames and all("result" in f for f in frames)
    (recorded,) = sim.state.chat_requests(token)
    assert recorded.headers["x-edge-client-ip"] == "127.0.0.1"
    assert recorded.cookies["sso"] == token and "cf_clearance" in recorded.cookies
