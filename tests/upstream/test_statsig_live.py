"""The x-statsig-id pair as shared live state: read from the store, re-read on a rejection,
retried once when it changed; and the browser snippet that captures a new pair."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.errors import UpstreamError
from grokgate.simulator import statsig as sim_statsig
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.request import RATE_LIMITS_PATH
from grokgate.upstream.grokweb.statsig import decode
from grokgate.upstream.grokweb.statsig_live import LiveSigner, StatsigPair, read_pair, write_pair
from tests.support import FakeClock
from tests.upstream.browser_support import account, web_over

DEMO = StatsigPair(DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX)
NEW = StatsigPair("00" + "ab" * 48, "obfiowerehiringNEW", 3, source="cli")
ANTI_BOT = {"error": {"code": 7, "message": "Request rejected by anti-bot rules.", "details": []}}


@pytest.fixture
async def store(tmp_path: Path) -> SqliteAccountStore:
    store = SqliteAccountStore(tmp_path / "pool.db")
    yield store  # type: ignore[misc]
    await store.close()


def accepts(pair: StatsigPair, token: str, path: str = RATE_LIMITS_PATH) -> bool:
    consts = sim_statsig.StatsigConstants(bytes.fromhex(pair.header_hex), pair.suffix)
    import time

    return sim_statsig.verify(token, "POST", path, consts, time.time()) is None


def test_a_pair_is_validated() -> None:
    for header, suffix, trailer in (("zz", "s", 3), ("00" * 48, "s", 3), ("00" * 49, "s", 256)):
        with pytest.raises(ValueError):
            StatsigPair(header, suffix, trailer)
    assert StatsigPair("AB" * 49, "s").header_hex == "ab" * 49
    assert DEMO.seed == bytes.fromhex(DEMO_STATSIG_HEADER_HEX)[1:]


async def test_the_store_wins_over_the_seed_and_is_reread(store: SqliteAccountStore) -> None:
    clock = FakeClock()
    signer = LiveSigner(store, DEMO, refresh_seconds=5, clock=clock)
    assert accepts(DEMO, await signer.sign("POST", RATE_LIMITS_PATH))
    await write_pair(store, NEW)  # another process sets a new pair
    assert accepts(DEMO, await signer.sign("POST", RATE_LIMITS_PATH))  # not re-read yet
    clock.advance(5)
    assert accepts(NEW, await signer.sign("POST", RATE_LIMITS_PATH))
    assert (await read_pair(store)) == NEW


async def test_a_refresh_says_whether_the_pair_changed_once_for_everyone(
    store: SqliteAccountStore,
) -> None:
    signer = LiveSigner(store, DEMO, refresh_seconds=3600, clock=FakeClock())
    await signer.pair()
    assert await signer.refresh() is False  # nothing new
    await write_pair(store, NEW)
    reads = 0
    original = store.get_value

    async def counting(key: str) -> object:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return await original(key)

    store.get_value = counting  # type: ignore[method-assign]
    changed = await asyncio.gather(*(signer.refresh() for _ in range(10)))
    assert changed == [True] * 10 and reads == 1  # single-flight


async def test_without_any_pair_the_synthetic_value_is_sent(store: SqliteAccountStore) -> None:
    signer = LiveSigner(store, None)
    assert signer.kind == "synthetic"
    assert decode(await signer.sign("POST", RATE_LIMITS_PATH)).startswith(b"x1:")
    await write_pair(store, NEW)
    signer.invalidate()
    assert accepts(NEW, await signer.sign("POST", RATE_LIMITS_PATH)) and signer.kind == "signed"


async def test_a_code_7_rereads_the_pair_and_retries_once(
    store: SqliteAccountStore, caplog: pytest.LogCaptureFixture
) -> None:
    """grok.com accepts only NEW; the signer starts on DEMO, and another process has stored NEW."""
    sent: list[str] = []

    def grok(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["x-statsig-id"])
        if not accepts(NEW, request.headers["x-statsig-id"]):
            return httpx.Response(403, json=ANTI_BOT)
        return httpx.Response(200, json={"remainingQueries": 9, "totalQueries": 50})

    signer = LiveSigner(store, DEMO, refresh_seconds=3600, clock=FakeClock())
    client = GrokWebClient(
        web_over(httpx.AsyncClient(transport=httpx.MockTransport(grok)), "https://grok.test"),
        signer=signer,
    )
    await signer.pair()
    await write_pair(store, NEW)
    limits = await client.rate_limits(account(), "fast")
    assert limits.remaining_queries == 9 and len(sent) == 2  # rejected, then re-signed
    # when nothing newer exists, the rejection is the answer, and one warning says what to do
    await write_pair(store, DEMO)
    signer.invalidate()
    with pytest.raises(UpstreamError) as info:
        for _ in range(3):
            await client.rate_limits(account(), "fast")
    assert info.value.code == "upstream_anti_bot"
    warnings = [r for r in caplog.records if "grokgate statsig set" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the snippet")
def test_the_capture_snippet_prints_the_set_command_for_the_pages_pair() -> None:
    """The console snippet, run in Node against a fake page: the seed from the meta tag, the
    suffix from the digested string, the trailer from a signed request's header."""
    from grokgate.cli_statsig import CAPTURE
    from grokgate.upstream.grokweb.statsig import InProcessSigner

    pair = StatsigPair("00" + "5c" * 48, "obfiowerehiring0f1e2d", 7)
    token = InProcessSigner(bytes.fromhex(pair.header_hex), pair.suffix, 7).token("POST", "/x")
    import base64

    meta = base64.b64encode(pair.seed).decode()
    page = f"""
globalThis.window = globalThis;
globalThis.document = {{ querySelector: () => ({{ content: {json.dumps(meta)} }}) }};
window.fetch = async () => "sent";
{CAPTURE}
const signed = new TextEncoder().encode("POST!/x!12345" + {json.dumps(pair.suffix)});
await crypto.subtle.digest("SHA-256", signed);
await window.fetch("/rest/rate-limits", {{ headers: {{ "x-statsig-id": {json.dumps(token)} }} }});
process.stdout.write("CMD " + window.grokgateStatsig() + "\\n");
"""
    out = subprocess.run(
        ["node", "--input-type=module", "-e", page], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("CMD ")]
    words = line[4:].replace("'", "").split()
    assert words[:3] == ["grokgate", "statsig", "set"]
    assert StatsigPair(words[3], words[4], int(words[6])).same_constants(pair)
