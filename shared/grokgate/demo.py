"""Demo mode: the gateway in front of the bundled grok.com simulator, with seeded accounts.

Used by ``grokgate serve`` when no account is configured, so a fresh checkout answers real
OpenAI requests at once (signing, the pool, NDJSON parsing and streaming all run for real; only
grok.com is simulated, on a loopback port).
"""

from __future__ import annotations

import shutil

from pydantic import SecretStr

from grokgate.config import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX, Settings

DEMO_ACCOUNTS = (
    ("basic", "demo-basic-1"),
    ("super", "demo-super-1"),
    ("super", "demo-super-2"),
    ("heavy", "demo-heavy-1"),
)


def start_demo(settings: Settings, *, token_delay: float = 0.03) -> tuple[Settings, object]:
    """Start the simulator in a background thread; returns demo settings and the server."""
    from grokgate.simulator.app import create_app as create_simulator
    from grokgate.simulator.server import ServerThread
    from grokgate.simulator.state import SimState

    state = SimState()
    for tier, token in DEMO_ACCOUNTS:
        state.add_account(token, tier)
    server = ServerThread(create_simulator(state, token_delay=token_delay))
    url = server.start()
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
        }
    )
    return demo, server
