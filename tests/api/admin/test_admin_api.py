"""The console's JSON API (``/admin/api/...``) against a live gateway and the simulator: import
by paste (the CLI's parser), list masked, enable / disable / remove, refresh quotas, health,
the doctor, and video jobs across client keys."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from grokgate.stores.records import account_id_for
from tests.api.admin.admin_support import ADMIN, ADMIN_KEY, change, session
from tests.support import ACCOUNTS, API_KEY, GatewayFactory, Sim

OTHER_KEY = "sk-test-other-fedcba9876543210"
(TIER_A, TOKEN_A), (TIER_B, TOKEN_B) = ACCOUNTS[0], ACCOUNTS[3]  # super, basic
ID_A, ID_B = account_id_for(TOKEN_A), account_id_for(TOKEN_B)
MODEL = "grok-4.20-0309-non-reasoning"  # fast: both tiers serve it


@pytest.fixture
def gw(make_gateway: GatewayFactory) -> str:
    return make_gateway(admin_key=ADMIN_KEY, sso_tokens="", api_keys=f"{API_KEY},{OTHER_KEY}").url


def api(base: str, method: str, path: str, **kw: object) -> httpx.Response:
    return httpx.request(method, f"{base}/admin/api{path}", headers=ADMIN, timeout=30, **kw)  # type: ignore[arg-type]


def chat(base: str) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    auth = {"Authorization": f"Bearer {API_KEY}"}
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers=auth, timeout=30)


def test_import_by_paste_lists_masked_accounts(gw: str) -> None:
    text = f"# two accounts\n{TIER_A}:{TOKEN_A}\n\n{TOKEN_B}\nnot a token\n"
    got = api(gw, "POST", "/accounts/import", json={"text": text, "tier": "basic"})
    assert got.status_code == 200, got.text
    report = got.json()
    assert report["added"] == 2 and report["present"] == 0
    assert report["rejected"] == [{"label": "line 5", "reason": report["rejected"][0]["reason"]}]
    assert [(a["id"], a["created"]) for a in report["accounts"]] == [(ID_A, True), (ID_B, True)]
    again = api(gw, "POST", "/accounts/import", json={"text": json.dumps([TOKEN_A])}).json()
    assert (again["added"], again["present"]) == (0, 1)  # JSON, as the CLI reads it
    listed = {a["id"]: a for a in api(gw, "GET", "/accounts").json()["data"]}
    assert set(listed) == {ID_A, ID_B}
    a, b = listed[ID_A], listed[ID_B]
    assert (a["tier"], b["tier"]) == ("super", "basic")
    assert a["token_hint"] == TOKEN_A[:4] + "…" and "token" not in a
    assert a["kind"] == "grok_web" and a["status"] == "active"
    assert a["quotas"]["fast"]["remaining_now"] == 140 and a["quotas"]["fast"]["reset_at"] > 0
    assert {"inflight", "max_inflight", "health", "use_count", "fail_count", "egress"} <= set(a)
    bad = api(gw, "POST", "/accounts/import", json={"text": "[1"})
    assert bad.status_code == 400 and "invalid JSON" in bad.json()["error"]["message"]


def test_xai_keys_are_imported_as_their_kind(gw: str) -> None:
    key = "xai-console0123456789abcdefgh"
    got = api(gw, "POST", "/accounts/import", json={"text": key, "kind": "xai_api_key"}).json()
    assert got["added"] == 1
    (account,) = api(gw, "GET", "/accounts").json()["data"]
    assert account["kind"] == "xai_api_key" and account["id"].startswith("xai_")
    assert account["token_hint"] == "xai-…"


def test_disable_enable_remove_and_the_pool_skips_a_disabled_account(gw: str, sim: Sim) -> None:
    api(gw, "POST", "/accounts/import", json={"text": f"{TOKEN_A}\n{TOKEN_B}"})
    got = api(gw, "POST", f"/accounts/{ID_A}/disable")
    assert got.status_code == 200 and got.json()["status"] == "disabled"
    for _ in range(3):
        assert chat(gw).status_code == 200
    assert sim.state.chat_requests(TOKEN_A) == []
    assert len(sim.state.chat_requests(TOKEN_B)) == 3
    assert api(gw, "POST", f"/accounts/{ID_A}/enable").json()["status"] == "active"
    assert api(gw, "DELETE", f"/accounts/{ID_B}").json() == {"id": ID_B, "removed": True}
    assert [a["id"] for a in api(gw, "GET", "/accounts").json()["data"]] == [ID_A]
    missing = api(gw, "POST", "/accounts/acct_000000000000/disable")
    assert missing.status_code == 404
    assert api(gw, "POST", "/accounts/not-an-id/enable").status_code == 404


def test_refresh_reads_quotas_and_tier_from_grok(gw: str, sim: Sim) -> None:
    api(gw, "POST", "/accounts/import", json={"text": TOKEN_A, "tier": "basic"})  # wrong tier
    got = api(gw, "POST", f"/accounts/{ID_A}/refresh")
    assert got.status_code == 200, got.text
    out = got.json()
    assert (out["tier_before"], out["tier_after"], out["error"]) == ("basic", "super", None)
    assert out["account"]["tier"] == "super"
    assert out["account"]["quotas"]["fast"]["source"] == "upstream"


def test_health_shows_the_statsig_pair_proxies_and_counters(gw: str) -> None:
    api(gw, "POST", "/accounts/import", json={"text": TOKEN_A})
    assert chat(gw).status_code == 200
    health = api(gw, "GET", "/health").json()
    assert health["statsig"]["kind"] in ("signed", "synthetic", "provider")
    assert health["statsig"]["source"] in ("env", "store", None)
    assert health["proxies"] == [
        {"key": "direct", "state": "live", "failures": 0, "last_error": None}
    ]
    assert health["pool"]["accounts"] == 1 and health["pool"]["by_status"] == {"active": 1}
    assert isinstance(health["counters"], list)
    doctor = api(gw, "GET", "/doctor")
    assert doctor.status_code == 200 and doctor.json()["account"] == ID_A


def _video(base: str, key: str, prompt: str) -> str:
    got = httpx.post(
        f"{base}/v1/videos",
        json={"prompt": prompt},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert got.status_code == 200, got.text
    return str(got.json()["id"])


def test_jobs_are_listed_across_client_keys_with_a_link_to_the_result(gw: str, sim: Sim) -> None:
    sim.state.media.video_step_delay = 0.01
    api(gw, "POST", "/accounts/import", json={"text": f"{TIER_A}:{TOKEN_A}"})
    first = _video(gw, API_KEY, "waves at dusk")
    second = _video(gw, OTHER_KEY, "a red fox")
    deadline = time.monotonic() + 30
    while True:
        jobs = api(gw, "GET", "/jobs").json()
        if all(j["status"] == "completed" for j in jobs["data"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [j["id"] for j in jobs["data"]] == [second, first]  # newest first, both owners
    assert len({j["owner"] for j in jobs["data"]}) == 2
    assert all(j["status"] == "completed" for j in jobs["data"])
    assert jobs["data"][0]["result_url"] == f"api/jobs/{second}/content"
    assert API_KEY not in json.dumps(jobs) and OTHER_KEY not in json.dumps(jobs)
    page = api(gw, "GET", "/jobs?limit=1").json()
    assert [j["id"] for j in page["data"]] == [second] and page["has_more"] is True
    rest = api(gw, "GET", f"/jobs?limit=1&after={second}").json()
    assert [j["id"] for j in rest["data"]] == [first] and rest["has_more"] is False
    content = httpx.get(
        f"{gw}/admin/api/jobs/{first}/content", headers=ADMIN, follow_redirects=True, timeout=30
    )
    assert content.status_code == 200, content.text
    assets = [sim.state.media.asset(p) for p in sim.state.media.videos.values()]
    assert content.content in [a.data for a in assets if a is not None]


def test_the_session_cookie_drives_the_same_api(gw: str) -> None:
    client, csrf = session(gw)
    got = client.post(
        "/admin/api/accounts/import", json={"text": TOKEN_A}, headers=change(client, gw, csrf)
    )
    assert got.status_code == 200 and got.json()["added"] == 1
    assert [a["id"] for a in client.get("/admin/api/accounts").json()["data"]] == [ID_A]
    out = client.post("/admin/logout", data={"csrf": csrf}, headers={"Origin": gw})
    assert out.status_code == 303 and out.headers["location"] == "login"
    client.cookies.clear()
    assert client.get("/admin/api/accounts").status_code == 401
