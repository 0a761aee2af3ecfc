"""A new x-statsig-id pair reaches running gateways without a restart.

Two ``grokgate serve`` processes share one pool (DynamoDB in moto, or one SQLite file). The
simulator then rotates the pair it accepts, as a grok.com web build does: every REST chat gets
403 code 7. ``grokgate statsig set`` in a third process stores the new pair, and both gateways
serve again within seconds. ``grokgate statsig check`` reports each state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.simulator.statsig import StatsigConstants
from tests.support import (
    ACCOUNTS,
    API_KEY,
    Sim,
    new_dynamodb_table,
    serve_process,
)

NEW_HEX = "00" + "3c" * 48
NEW_SUFFIX = "obfiowerehiring7a7a7a"
CHAT = {"model": "grok-4.20-fast", "messages": [{"role": "user", "content": "hi"}]}


def _chat(base: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/chat/completions",
        json=CHAT,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=20,
    )


def _cli(*args: str, store: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "grokgate.cli", "statsig", *args, *store],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("backend", ["dynamodb", "sqlite"])
def test_a_new_pair_reaches_running_gateways_without_a_restart(
    sim: Sim, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    env = {
        "GROKGATE_GROK_BASE_URL": sim.url,
        "GROKGATE_STATSIG_HEADER_HEX": DEMO_STATSIG_HEADER_HEX,  # the seed: today's pair
        "GROKGATE_STATSIG_SUFFIX": DEMO_STATSIG_SUFFIX,
        "GROKGATE_SSO_TOKENS": ",".join(f"{tier}:{token}" for tier, token in ACCOUNTS),
        "GROKGATE_API_KEYS": API_KEY,
        "GROKGATE_WEB_CHAT_TRANSPORT": "rest",  # the WebSocket gateway takes no statsig
        "GROKGATE_DATA_DIR": str(tmp_path / "data"),
    }
    if backend == "dynamodb":
        endpoint: str = request.getfixturevalue("moto_endpoint")
        table = new_dynamodb_table(endpoint)
        env |= {
            "GROKGATE_STORE": "dynamodb",
            "GROKGATE_DYNAMODB_TABLE": table,
            "GROKGATE_AWS_ENDPOINT_URL": endpoint,
            "GROKGATE_AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    store: list[str] = []  # the CLI reads the store from the same settings
    procs = [serve_process(env) for _ in range(2)]
    try:
        bases = [base for _, base in procs]
        for base in bases:
            assert _chat(base).status_code == 200
        assert _cli("check", store=store, env=env).stdout.startswith("accepted")

        sim.state.statsig = StatsigConstants(bytes.fromhex(NEW_HEX), NEW_SUFFIX)  # a new build
        for base in bases:
            refused = _chat(base)
            assert refused.status_code == 502
            assert refused.json()["error"]["code"] == "upstream_anti_bot"
        checked = _cli("check", store=store, env=env)
        assert checked.returncode == 1 and checked.stdout.startswith("rejected"), checked

        stored = _cli("set", NEW_HEX, NEW_SUFFIX, store=store, env=env)
        assert stored.returncode == 0, stored.stderr
        assert "store:" in _cli("show", store=store, env=env).stdout
        started = time.monotonic()
        for base in bases:  # both gateways serve again, within seconds, with no restart
            while (answer := _chat(base)).status_code != 200:
                assert time.monotonic() - started < 10, answer.text
                time.sleep(0.2)
        assert time.monotonic() - started < 10
        assert _cli("check", store=store, env=env).stdout.startswith("accepted")
        for proc, _ in procs:
            assert proc.poll() is None  # the same processes
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(10)
