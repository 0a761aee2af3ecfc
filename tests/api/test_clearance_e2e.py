"""Cloudflare clearance through FlareSolverr, end to end.

The simulator sits behind the edge in cloudflare mode: a request without a clearance minted for
its source address and User-Agent gets the challenge. The gateway has no clearance to start
with; a fake FlareSolverr earns one through the same egress (a real request to the edge's solve
endpoint with a Chrome 146 profile), and the gateway retries with it, as Chrome 146.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from grokgate.simulator.edge import EdgeThread
from grokgate.simulator.flaresolverr import FakeFlareSolverr
from grokgate.simulator.proxies import ConnectProxy, ProxyThread, Socks5Proxy
from grokgate.simulator.server import ServerThread
from grokgate.stores.records import account_id_for
from grokgate.upstream.egress import _weight, proxy_key
from tests.sdk import openai_aclient, openai_client
from tests.support import GatewayFactory, Sim

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def cloudflare(sim: Sim) -> Iterator[EdgeThread]:
    with EdgeThread(sim.url, mode="cloudflare") as edge:
        yield edge


@pytest.fixture
def solver(cloudflare: EdgeThread) -> Iterator[tuple[FakeFlareSolverr, str]]:
    fake = FakeFlareSolverr(ca_file=cloudflare.ca_file, delay=0.5)  # concurrent callers pile up
    with ServerThread(fake.app) as server:
        yield fake, server.url


def _behind(edge: EdgeThread, flaresolverr: str, **more: object) -> dict[str, object]:
    return {
        "grok_base_url": edge.url,
        "grok_assets_url": f"{edge.url}/assets",
        "grok_ca_file": edge.ca_file,
        "flaresolverr_url": flaresolverr,
        **more,
    }


async def _twenty(base: str) -> list[str]:
    sdk = openai_aclient(base)

    async def one() -> str:
        out = await sdk.chat.completions.create(model="grok-4.20-fast", messages=HI)
        return out.choices[0].message.content or ""

    return await asyncio.gather(*(one() for _ in range(20)))


def test_one_solve_for_twenty_concurrent_challenges_shared_by_instances(
    make_gateway: GatewayFactory,
    cloudflare: EdgeThread,
    solver: tuple[FakeFlareSolverr, str],
    tmp_path: Path,
) -> None:
    fake, url = solver
    shared = tmp_path / "shared"  # both instances on one pool and clearance store
    first = make_gateway(**_behind(cloudflare, url), data_dir=shared)
    answers = asyncio.run(_twenty(first.url))
    assert all(answers) and len(answers) == 20
    assert [r.outcome for r in fake.records] == ["ok"]  # exactly one solve
    assert cloudflare.clearances_issued == {"127.0.0.1": 1}
    assert cloudflare.challenges.get("127.0.0.1", 0) >= 1
    served = [r for c in cloudflare.connections for r in c.requests if r.outcome == "forwarded"]
    assert served and all("Chrome/146" in (r.user_agent or "") for r in served)  # the solver's UA

    second = make_gateway(**_behind(cloudflare, url), data_dir=shared)
    challenged = dict(cloudflare.challenges)
    out = openai_client(second.url).chat.completions.create(model="grok-4.20-fast", messages=HI)
    assert out.choices[0].message.content
    assert len(fake.records) == 1 and cloudflare.challenges == challenged  # used the stored one


def test_without_flaresolverr_the_error_says_what_to_refresh(
    make_gateway: GatewayFactory, cloudflare: EdgeThread
) -> None:
    gw = make_gateway(grok_base_url=cloudflare.url, grok_ca_file=cloudflare.ca_file)
    with pytest.raises(openai.APIStatusError) as info:
        openai_client(gw.url).chat.completions.create(model="grok-4.20-fast", messages=HI)
    assert info.value.status_code == 502
    said = info.value.response.text
    assert "Cloudflare challenge" in said and "egress direct" in said


def test_each_egress_is_cleared_on_its_own(
    make_gateway: GatewayFactory,
    sim: Sim,
    cloudflare: EdgeThread,
    solver: tuple[FakeFlareSolverr, str],
) -> None:
    fake, url = solver
    fake.delay = 0.0
    http = ConnectProxy(source_address="127.0.0.2")
    socks = Socks5Proxy(source_address="127.0.0.3")
    with ProxyThread(http) as a, ProxyThread(socks) as b:
        keys = [proxy_key(a.url), proxy_key(b.url)]
        tokens: dict[str, str] = {}
        for i in range(16):  # one account pinned to each proxy
            token = f"sso-clearance-{i}-eyJhbGciOiJIUzI1NiJ9"
            key = max(keys, key=lambda k, t=token: _weight(account_id_for(t), k))
            tokens.setdefault(key, token)
        assert len(tokens) == 2
        for token in tokens.values():
            sim.state.add_account(token, "super")
        gw = make_gateway(
            **_behind(cloudflare, url, proxies=f"{a.url},{b.url}"),
            sso_tokens=",".join(f"super:{t}" for t in tokens.values()),
        )
        sdk = openai_client(gw.url)
        for _ in range(6):
            assert sdk.chat.completions.create(model="grok-4.20-fast", messages=HI)
        assert sorted(str(r.proxy) for r in fake.records) == sorted(
            f"http://{k}" if k == keys[0] else f"socks5h://{k}" for k in keys
        )
    assert cloudflare.clearances_issued == {"127.0.0.2": 1, "127.0.0.3": 1}
