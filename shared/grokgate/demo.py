"""Demo mode: the gateway in front of the bundled grok.com simulator and fake xAI API, with
seeded accounts and a demo xAI key.

Used by ``grokgate serve`` when no account is configured, so a fresh checkout answers real
OpenAI and Anthropic requests at once (signing, the pool, the WebSocket gateway, NDJSON parsing,
the xAI relay and streaming all run for real; only grok.com and the xAI API are simulated, on
loopback ports).
"""

from __future__ import annotations

import shutil

from pydantic import SecretStr

from grokgate.config import Settings
from grokgate.simulator.server import ServerThread
from grokgate.simulator.statsig import DEMO_CONSTANTS

# the statsig constants that only the bundled simulator accepts (demo mode and tests), as settings
DEMO_STATSIG_HEADER_HEX = DEMO_CONSTANTS.header.hex()
DEMO_STATSIG_SUFFIX = DEMO_CONSTANTS.suffix

DEMO_XAI_KEY = "xai-demo-key-grokgate-0000000000"
DEMO_ACCOUNTS = (
    ("basic", "demo-basic-1"),
    ("super", "demo-super-1"),
    ("super", "demo-super-2"),
    ("heavy", "demo-heavy-1"),
)


class DemoServers:
    """The simulators behind a demo gateway; ``stop()`` stops them all."""

    def __init__(self, *servers: ServerThread) -> None:
        self.servers = servers

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_demo(settings: Settings, *, token_delay: float = 0.03) -> tuple[Settings, DemoServers]:
    """Start the simulators in background threads; returns demo settings and the servers."""
    from grokgate.simulator.app import create_app as create_simulator
    from grokgate.simulator.state import SimState
    from grokgate.simulator.xai import create_xai_app
    from grokgate.simulator.xai_state import XaiState

    state = SimState()
    for tier, token in DEMO_ACCOUNTS:
        state.add_account(token, tier)
    server = ServerThread(create_simulator(state, token_delay=token_delay))
    url = server.start()
    xai = ServerThread(create_xai_app(XaiState([DEMO_XAI_KEY]), token_delay=token_delay))
    xai_url = xai.start()
    data_dir = settings.data_dir / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)  # a fresh pool on every demo start
    demo = settings.model_copy(
        update={
            "grok_base_url": url,
            "grok_assets_url": f"{url}/assets",  # the simulator is assets.grok.com too
            "store": "sqlite",  # demo accounts never go into a shared (cloud) pool
            "data_dir": data_dir,
            "statsig_header_hex": DEMO_STATSIG_HEADER_HEX,
            "statsig_suffix": DEMO_STATSIG_SUFFIX,
            "statsig_trailer": 3,
            "statsig_provider_url": None,
            "cf_cookies": None,
            "sso_tokens": [SecretStr(f"{tier}:{token}") for tier, token in DEMO_ACCOUNTS],
            "xai_base_url": xai_url,
            "xai_api_keys": [SecretStr(DEMO_XAI_KEY)],
            "xai_ca_file": None,
        }
    )
    return demo, DemoServers(server, xai)
