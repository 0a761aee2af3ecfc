"""QuotaSync end to end: GrokWebClient against the grok.com simulator."""

from __future__ import annotations

from pathlib import Path

import httpx

from grokgate.core.accounts.quota import QuotaSync
from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.stores.records import COMPUTER_USE, QuotaSource, Status, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.statsig import InProcessSigner
from tests.support import ACCOUNTS, Sim
from tests.upstream.browser_support import web_over

# --- end to end: GrokWebClient against the simulator --------------------------------------


async def test_end_to_end_against_the_simulator(sim: Sim, tmp_path: Path) -> None:
    tokens = {tier: token for tier, token in reversed(ACCOUNTS)}
    http = httpx.AsyncClient(timeout=30.0)
    signer = InProcessSigner(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), DEMO_STATSIG_SUFFIX)
    client = GrokWebClient(web_over(http, sim.url), signer=signer)
    store = SqliteAccountStore(tmp_path / "e2e.db")
    quota = QuotaSync(store, client)
    try:
        wrong, _ = await store.add_account(tokens["super"], Tier.BASIC)  # really a super
        basic, _ = await store.add_account(tokens["basic"], Tier.BASIC)
        gone, _ = await store.add_account("sso-unknown-to-grok-eyJhbGciOiJIUzI1NiJ9", Tier.SUPER)
        sim.state.set_remaining(tokens["super"], "auto", 17)
        sim.state.set_remaining(tokens["basic"], "fast", 4)

        outcome = await quota.refresh(wrong)
        assert outcome.error is None and outcome.tier_after is Tier.SUPER
        stored = await store.get_account(wrong.id)
        assert stored is not None and stored.tier is Tier.SUPER
        assert set(stored.quotas) == {"auto", "fast", "expert", COMPUTER_USE}
        auto = stored.quotas["auto"]
        assert (auto.remaining, auto.total, auto.window) == (17, 50, 7200.0)
        assert auto.source is QuotaSource.UPSTREAM

        after = await quota.sync_mode(basic, "fast")
        assert after is not None and after.tier is Tier.BASIC
        fast = after.quotas["fast"]
        assert (fast.remaining, fast.total, fast.window) == (4, 30, 86400.0)
        assert fast.source is QuotaSource.UPSTREAM

        sim.state.set_remaining(tokens["super"], "expert", 2)
        quota.schedule_after_use(stored, "expert")  # the refresh just read it: fresh
        await quota.drain()
        stored = await store.get_account(wrong.id)
        assert stored is not None and stored.quotas["expert"].remaining == 50

        failed = await quota.refresh(gone)
        assert failed.account is not None and failed.account.status is Status.EXPIRED
        assert failed.error is not None and "HTTP 401" in failed.error
    finally:
        await quota.aclose()
        await store.close()
        await http.aclose()
