"""Cloudflare clearances per egress: where they come from, and FlareSolverr solving one
challenge once for every caller that met it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from grokgate.errors import UpstreamError
from grokgate.simulator.edge import EdgeThread
from grokgate.simulator.flaresolverr import FakeFlareSolverr
from grokgate.simulator.proxies import ConnectProxy, ProxyThread
from grokgate.simulator.server import ServerThread
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.browser.api import Egress
from grokgate.upstream.browser.profiles import PROFILES
from grokgate.upstream.clearance import (
    Clearance,
    ClearanceBook,
    FlareSolverr,
    parse_clearances,
)
from tests.support import FakeClock, Sim
from tests.upstream.browser_support import FINGERPRINT

UA_145 = PROFILES["chrome145"]
LINUX_147 = PROFILES["chrome146"].replace("Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64")
LINUX_147 = LINUX_147.replace("146", "147")


class CountingSolver:
    def __init__(self, delay: float = 0.05, fail: bool = False) -> None:
        self.calls: list[str | None] = []
        self.delay = delay
        self.fail = fail

    async def solve(self, proxy: str | None) -> Clearance:
        self.calls.append(proxy)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise UpstreamError("FlareSolverr failed: Error: timeout")
        return Clearance(f"cf_clearance=solved{len(self.calls)}", UA_145, 1.0, "flaresolverr")


@pytest.fixture
async def store(tmp_path: Path) -> SqliteAccountStore:
    store = SqliteAccountStore(tmp_path / "pool.db")
    yield store  # type: ignore[misc]
    await store.close()


def book(store: SqliteAccountStore, **kw: object) -> ClearanceBook:
    return ClearanceBook(store=store, fingerprint=FINGERPRINT, **kw)  # type: ignore[arg-type]


def test_configured_clearances_are_json_per_egress() -> None:
    doc = {"127.0.0.1:3128": {"cookies": "cf_clearance=x", "user_agent": UA_145}}
    got = parse_clearances(json.dumps(doc))
    assert got["127.0.0.1:3128"].cookies == "cf_clearance=x"
    for bad in ("[1]", "{", '{"a": 1}', '{"a": {"cookies": "x", "user_agent": "curl/8"}}'):
        with pytest.raises(ValueError):
            parse_clearances(bad)


async def test_where_a_clearance_comes_from(store: SqliteAccountStore) -> None:
    configured = {"127.0.0.1:3128": Clearance("cf_clearance=conf", LINUX_147)}
    clearances = book(store, single_cookies="cf_clearance=single", configured=configured)
    # the single-egress cookies go with grokgate's own fingerprint, and only to a single egress
    assert await clearances.current("direct", single=True) == (FINGERPRINT, "cf_clearance=single")
    assert await clearances.current("direct", single=False) == (FINGERPRINT, None)
    # a per-egress bundle brings its UA, and the Chrome profile nearest to its version
    fingerprint, cookies = await clearances.current("127.0.0.1:3128", single=False)
    assert cookies == "cf_clearance=conf"
    assert (fingerprint.profile, fingerprint.user_agent) == ("chrome146", LINUX_147)
    assert fingerprint.hints()["sec-ch-ua"].count('v="147"') == 2


async def test_one_solve_for_twenty_concurrent_challenges(store: SqliteAccountStore) -> None:
    clock = FakeClock()
    solver = CountingSolver()
    clearances = book(store, solver=solver, retry_seconds=300, clock=clock)
    stale = Egress(FINGERPRINT, key="127.0.0.1:3128", proxy="http://u:p@127.0.0.1:3128")
    results = await asyncio.gather(*(clearances.renew(stale) for _ in range(20)))
    assert results == [True] * 20 and solver.calls == ["http://u:p@127.0.0.1:3128"]
    fingerprint, cookies = await clearances.current("127.0.0.1:3128", single=False)
    assert cookies == "cf_clearance=solved1" and fingerprint.profile == "chrome145"
    # another instance (same store) sees it at once, without solving
    other = book(store, solver=CountingSolver())
    assert (await other.current("127.0.0.1:3128", single=False))[1] == "cf_clearance=solved1"
    # challenged again with the new bundle, within the retry window: no second solve
    fresh = Egress(fingerprint, key=stale.key, proxy=stale.proxy, cf_cookies=cookies)
    assert await clearances.renew(fresh) is False and len(solver.calls) == 1
    clock.advance(301)
    assert await clearances.renew(fresh) is True and len(solver.calls) == 2
    # another egress solves on its own
    assert await clearances.renew(Egress(FINGERPRINT, key="direct")) is True
    assert solver.calls[-1] is None


async def test_without_flaresolverr_nothing_is_solved_nor_read(store: SqliteAccountStore) -> None:
    await store.put_value("clearance:direct", Clearance("cf_clearance=x", UA_145).to_doc())
    clearances = book(store)
    assert await clearances.renew(Egress(FINGERPRINT)) is False
    assert await clearances.current("direct", single=True) == (FINGERPRINT, None)


async def test_a_failed_solve_is_not_retried_at_once(store: SqliteAccountStore) -> None:
    solver = CountingSolver(fail=True)
    clearances = book(store, solver=solver, retry_seconds=300, clock=FakeClock())
    assert await clearances.renew(Egress(FINGERPRINT)) is False
    assert await clearances.renew(Egress(FINGERPRINT)) is False
    assert len(solver.calls) == 1


@pytest.fixture
def cloudflare(sim_server: Sim) -> Iterator[EdgeThread]:
    with EdgeThread(sim_server.url, mode="cloudflare") as edge:
        yield edge


async def test_flaresolverr_client_through_a_proxy_earns_a_clearance_for_its_address(
    cloudflare: EdgeThread,
) -> None:
    fake = FakeFlareSolverr(ca_file=cloudflare.ca_file)
    proxy = ConnectProxy(username="u", password="p@ss word", source_address="127.0.0.2")
    with ServerThread(fake.app) as server, ProxyThread(proxy) as running:
        client = FlareSolverr(server.url, target=cloudflare.url, timeout=10)
        clearance = await client.solve(running.url)
    assert "cf_clearance=" in clearance.cookies and clearance.user_agent == fake.user_agent
    (record,) = fake.records
    assert record.outcome == "ok" and record.proxy is not None
    assert cloudflare.clearances_issued.get("127.0.0.2") == 1  # bound to the proxy's address
    with (
        ServerThread(FakeFlareSolverr(fail="timeout").app) as failing,
        pytest.raises(UpstreamError, match="FlareSolverr failed"),
    ):
        await FlareSolverr(failing.url, target=cloudflare.url, timeout=5).solve(None)
