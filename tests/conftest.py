"""Shared fixtures: the grok.com simulator and gateways, each a live uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grokgate.api.app import create_app
from grokgate.config import Settings
from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.simulator.app import create_app as create_simulator
from grokgate.simulator.edge import EdgeThread
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from tests.support import ACCOUNTS, API_KEY, AtomicMotoServer, Gateway, GatewayFactory, Sim


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto (DynamoDB, S3) over real HTTP on loopback, for the whole session."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = AtomicMotoServer()
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[Sim]:
    state = SimState()
    for tier, token in ACCOUNTS:
        state.add_account(token, tier)
    with ServerThread(create_simulator(state)) as server:
        yield Sim(state, server.url)


@pytest.fixture
def sim(sim_server: Sim) -> Iterator[Sim]:
    """The shared simulator, reset (faults, quotas, request log) around each test."""
    sim_server.state.reset()
    yield sim_server
    sim_server.state.reset()


@pytest.fixture(scope="session")
def edge_server(sim_server: Sim) -> Iterator[EdgeThread]:
    """The simulator behind a Cloudflare-like edge over HTTPS: a connection that is not
    Chrome's gets the block page, a request without a clearance for its address the challenge."""
    with EdgeThread(sim_server.url, mode="cloudflare") as edge:
        yield edge


@pytest.fixture
def grok_front() -> str:
    """How the gateways a test starts reach the simulator: ``plain`` HTTP, or ``cloudflare``
    (HTTPS through :func:`edge_server`, with a clearance for 127.0.0.1 and grokgate's UA).
    Suites that must pass both ways override it with ``params=["plain", "cloudflare"]``."""
    return "plain"


def front_settings(request: pytest.FixtureRequest, front: str) -> dict[str, object]:
    """The settings that point a gateway at the simulator through ``front``."""
    if front == "plain":
        return {}
    edge: EdgeThread = request.getfixturevalue("edge_server")
    clearance = edge.mint_clearance("127.0.0.1", Settings(_env_file=None).fingerprint.user_agent)
    return {
        "grok_base_url": edge.url,
        "grok_assets_url": f"{edge.url}/assets",
        "grok_ca_file": edge.ca_file,
        "cf_cookies": f"cf_clearance={clearance}",
    }


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings read from the environment (as a function's entry module reads them): a fresh
    data dir and the test API key, with the settings cache cleared around the test."""
    from grokgate.config import get_settings

    monkeypatch.setenv("GROKGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GROKGATE_API_KEYS", API_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def gateway_settings(sim_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "grok_base_url": sim_url,
        "grok_assets_url": f"{sim_url}/assets",
        "data_dir": data_dir,
        "statsig_header_hex": DEMO_STATSIG_HEADER_HEX,
        "statsig_suffix": DEMO_STATSIG_SUFFIX,
        "sso_tokens": ",".join(f"{tier}:{token}" for tier, token in ACCOUNTS),
        "api_keys": API_KEY,
        "keepalive_seconds": 15,
        "web_chat_transport": "rest",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def chat_transport() -> str:
    """grok.com chat transport of the gateways a test starts; suites that must pass over both
    override it with ``params=["rest", "ws"]``."""
    return "rest"


@pytest.fixture
def make_gateway(
    sim: Sim, tmp_path: Path, chat_transport: str, grok_front: str, request: pytest.FixtureRequest
) -> Iterator[GatewayFactory]:
    """Start a gateway (fresh pool in its own data dir) in front of the simulator."""
    servers: list[ServerThread] = []
    front = front_settings(request, grok_front)

    def start(**overrides: object) -> Gateway:
        overrides.setdefault("web_chat_transport", chat_transport)
        for key, value in front.items():
            overrides.setdefault(key, value)
        data_dir = overrides.pop("data_dir", tmp_path / f"gw{len(servers)}")
        settings = gateway_settings(sim.url, data_dir, **overrides)  # type: ignore[arg-type]
        server = ServerThread(create_app(settings=settings))
        servers.append(server)
        return Gateway(server.start(), settings)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> str:
    return make_gateway().url
