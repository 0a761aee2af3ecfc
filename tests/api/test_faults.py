"""Upstream faults injected by the simulator: retries, pool state, and what the client sees.

Each fault on one account and on every account, streamed or not, is in the fault matrix
(:mod:`tests.api.test_fault_matrix`, :mod:`tests.api.test_fault_matrix_stream`); here are the
cases around it: a spent pool refusing without calling grok.com, tiers, statsig, cookies,
secrets, and windows coming back."""

from __future__ import annotations

import asyncio
import logging
import time

import openai
import pytest

from grokgate.stores.records import Status, account_id_for
from tests.sdk import openai_client as client
from tests.support import ALL_TOKENS, API_KEY, GatewayFactory, Sim

SUPER = [t for t in ALL_TOKENS if "super" in t]
MSG = [{"role": "user", "content": "fault test"}]
MODEL = "grok-4.20-0309"  # auto mode: super accounts first, then heavy


def first_pick() -> str:
    """With equal scores the selector breaks ties by account id: the first super account."""
    return min(SUPER, key=account_id_for)


def other_pick() -> str:
    return next(t for t in SUPER if t != first_pick())


@pytest.fixture
def two_supers(make_gateway: GatewayFactory):  # type: ignore[no-untyped-def]
    return make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))


async def test_expired_account_is_never_picked_again(two_supers, sim: Sim) -> None:
    bad = first_pick()
    sim.state.inject(bad, "401")
    c = client(two_supers.url)
    for _ in range(4):
        c.chat.completions.create(model=MODEL, messages=MSG)
    tokens = [r.token for r in sim.state.chat_requests()]
    assert tokens.count(bad) == 1 and len(tokens) == 5


def test_all_accounts_rate_limited_is_429_with_retry_after(two_supers, sim: Sim) -> None:
    expert = "grok-4.20-0309-reasoning"  # one quota window (auto would fall back to fast)
    for token in SUPER:
        sim.state.inject(token, "429", times=-1, retry_after=90)
    with pytest.raises(openai.RateLimitError) as info:
        client(two_supers.url).chat.completions.create(model=expert, messages=MSG)
    assert info.value.status_code == 429
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 90
    # both accounts' auto windows are now spent: the next request is refused without calling
    # grok.com, with the time until the first window comes back
    before = len(sim.state.chat_requests())
    with pytest.raises(openai.RateLimitError) as again:
        client(two_supers.url).chat.completions.create(model=expert, messages=MSG)
    assert again.value.status_code == 429
    assert 60 <= int(again.value.response.headers["retry-after"]) <= 90
    assert len(sim.state.chat_requests()) == before


def test_basic_account_never_serves_a_super_model(make_gateway: GatewayFactory, sim: Sim) -> None:
    basic = next(t for t in ALL_TOKENS if "basic" in t)
    gw = make_gateway(sso_tokens=f"basic:{basic}")
    with pytest.raises(openai.InternalServerError) as info:
        client(gw.url).chat.completions.create(model="grok-4.20-0309-reasoning", messages=MSG)
    assert info.value.status_code == 503
    assert "super" in info.value.message
    assert sim.state.chat_requests() == []
    ok = client(gw.url).chat.completions.create(model="grok-4.20-fast", messages=MSG)
    assert ok.choices[0].message.content


def test_wrong_statsig_constants_are_rejected_and_do_not_punish(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(statsig_suffix="not-the-real-suffix")
    with pytest.raises(openai.InternalServerError) as info:
        client(gw.url).chat.completions.create(model=MODEL, messages=MSG)
    assert info.value.status_code == 502
    assert "anti-bot" in info.value.message
    assert all(not r.statsig_ok for r in sim.state.chat_requests())


async def test_statsig_from_an_external_token_provider(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(
        statsig_header_hex=None, statsig_suffix=None, statsig_provider_url=f"{sim.url}/__sim/sign"
    )
    out = client(gw.url).chat.completions.create(model=MODEL, messages=MSG)
    assert out.choices[0].message.content
    assert sim.state.chat_requests()[-1].statsig_ok


def test_cookies_of_one_account_never_reach_another(two_supers, sim: Sim) -> None:
    c = client(two_supers.url)
    for _ in range(4):
        c.chat.completions.create(model=MODEL, messages=MSG)
    for recorded in sim.state.chat_requests():
        cookie = recorded.headers["cookie"]
        assert cookie == f"sso={recorded.token}; sso-rw={recorded.token}"


def test_secrets_never_in_logs_or_error_bodies(
    make_gateway: GatewayFactory, sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = make_gateway(
        sso_tokens=",".join(f"super:{t}" for t in SUPER),
        cf_cookies="cf_clearance=cf-secret-value-123",
    )
    c = client(gw.url)
    bodies: list[str] = []
    for fault in ("401", "403_blocked", "429", "500"):
        for token in SUPER:
            sim.state.inject(token, fault)
        with pytest.raises(openai.APIStatusError) as info:
            c.chat.completions.create(model=MODEL, messages=MSG)
        bodies.append(info.value.response.text)
    with pytest.raises(openai.AuthenticationError) as bad_key:
        intruder = openai.OpenAI(
            base_url=f"{gw.url}/v1", api_key="sk-secret-attempt-999", max_retries=0
        )
        intruder.models.list()
    bodies.append(bad_key.value.response.text)
    captured = caplog.text + "\n".join(bodies)
    assert "account" in caplog.text  # the failures were logged...
    for secret in (*SUPER, API_KEY, "cf-secret-value-123", "sk-secret-attempt-999"):
        assert secret not in captured  # ...without the secrets


async def test_a_rate_limited_account_comes_back_after_its_reset(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    token = first_pick()
    gw = make_gateway(sso_tokens=f"super:{token}")
    expert = "grok-4.20-0309-reasoning"
    sim.state.inject(token, "429", retry_after=1)
    c = client(gw.url)
    with pytest.raises(openai.RateLimitError) as first:
        c.chat.completions.create(model=expert, messages=MSG)
    assert first.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.RateLimitError):  # spent: refused without calling grok.com
        c.chat.completions.create(model=expert, messages=MSG)
    assert len(sim.state.chat_requests()) == 1
    await asyncio.sleep(1.2)
    ok = c.chat.completions.create(model=expert, messages=MSG)
    assert ok.choices[0].message.content
    assert len(sim.state.chat_requests()) == 2
    account = (await gw.accounts())[account_id_for(token)]
    assert account.status is Status.ACTIVE and account.quotas["expert"].remaining > 0


async def test_a_spent_grok_quota_is_a_429_until_the_window_resets(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    token = first_pick()
    gw = make_gateway(sso_tokens=f"super:{token}")
    sim.state.set_remaining(token, "expert", 0)  # grok.com's own count: 429 for two hours
    c = client(gw.url)
    with pytest.raises(openai.RateLimitError) as info:
        c.chat.completions.create(model="grok-4.20-0309-reasoning", messages=MSG)
    assert 7000 <= int(info.value.response.headers["retry-after"]) <= 7200
    ok = c.chat.completions.create(model="grok-4.20-0309-non-reasoning", messages=MSG)
    assert ok.choices[0].message.content  # fast is another window: still served
    account = (await gw.accounts())[account_id_for(token)]
    assert account.quotas["expert"].remaining == 0
    assert account.quotas["expert"].reset_at > time.time() + 7000
