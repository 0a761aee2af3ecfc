"""A server killed mid-stream (SIGKILL: no cleanup at all) leaves its lease in the SQLite pool;
a new server on the same data dir reclaims it at start-up (its holder's process is dead), so
the one account serves at once instead of "busy, Retry-After" until the lease expires."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import httpx

from grokgate.stores.sqlite import SqliteAccountStore
from tests.support import API_KEY, GatewayFactory, Sim, serve_process

MODEL = "grok-4.20-0309-non-reasoning"  # fast: a basic account serves it
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hello after a crash"}]}
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def leases(db: Path) -> dict[str, float]:
    async def read() -> dict[str, float]:
        store = SqliteAccountStore(db)
        try:
            accounts = await store.list_accounts()  # added by the first request
            return dict(accounts[0].leases) if accounts else {}
        finally:
            await store.close()

    return asyncio.run(read())


def stream_in_background(base: str) -> threading.Thread:
    def run() -> None:
        try:
            with httpx.stream(
                "POST",
                f"{base}/v1/chat/completions",
                json={**BODY, "stream": True},
                headers=HEADERS,
                timeout=60,
            ) as response:
                for _ in response.iter_bytes():
                    pass
        except httpx.HTTPError:
            pass  # the server is killed under it

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_restarted_server_serves_at_once_after_a_kill_mid_stream(
    make_gateway: GatewayFactory, sim: Sim, tmp_path: Path
) -> None:
    s = make_gateway().settings  # for its simulator settings only
    token = next(t.get_secret_value() for t in s.sso_tokens if "basic" in t.get_secret_value())
    data = tmp_path / "killed"
    env = {
        "GROKGATE_GROK_BASE_URL": s.grok_base_url,
        "GROKGATE_GROK_ASSETS_URL": s.grok_assets_url,
        "GROKGATE_DATA_DIR": str(data),
        "GROKGATE_STATSIG_HEADER_HEX": s.statsig_header_hex or "",
        "GROKGATE_STATSIG_SUFFIX": s.statsig_suffix or "",
        "GROKGATE_SSO_TOKENS": token,  # ONE account
        "GROKGATE_MAX_INFLIGHT": "1",  # ... with one slot, which the dead lease holds
        "GROKGATE_API_KEYS": API_KEY,
        "GROKGATE_WEB_CHAT_TRANSPORT": "rest",
        "GROKGATE_GROK_CA_FILE": s.grok_ca_file or "",
        "GROKGATE_CF_COOKIES": s.cf_cookie_value or "",
    }
    raw_token = token.partition(":")[2]
    sim.state.inject(raw_token, "slow", delay=12.0)  # the answer takes 12 s to start
    proc, base = serve_process(env)
    try:
        stream_in_background(base)
        deadline = time.monotonic() + 10
        while not (held := leases(data / "grokgate.db")):
            assert time.monotonic() < deadline, "the stream never took its lease"
            time.sleep(0.05)
        # ... and the slow answer is under way upstream (it took the injected delay): killed
        # between the lease and the upstream call, the restarted server's request would be the
        # one delayed 12 s (seen once on a loaded machine)
        while not sim.state.chat_requests():
            assert time.monotonic() < deadline, "the stream never reached grok.com"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    assert leases(data / "grokgate.db") == held  # the dead process's lease is still there

    spawned = time.monotonic()
    proc, base = serve_process(env)
    healthy = time.monotonic()
    try:
        got = httpx.post(f"{base}/v1/chat/completions", json=BODY, headers=HEADERS, timeout=30)
        answered = time.monotonic()
        assert got.status_code == 200, (got.status_code, got.headers.get("retry-after"), got.text)
        assert got.json()["choices"][0]["message"]["content"]
        print(
            f"\nrestart → healthy {healthy - spawned:.2f} s; healthy → first answer "
            f"{answered - healthy:.2f} s; restart → first answer {answered - spawned:.2f} s"
        )
        assert answered - healthy < 5.0
        assert leases(data / "grokgate.db") == {}
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
