"""grok.com chat transport choice through the live gateway: ``auto`` uses the WebSocket gateway
and falls back to REST (logged and counted) when the gateway's handshake is refused; account
verdicts are not fallbacks; ``ws`` alone reports a refused gateway as an upstream failure."""

from __future__ import annotations

import logging

import openai
import pytest

from grokgate import metrics
from grokgate.simulator.state import CHAT_PATH, MGW_PATH
from grokgate.stores.records import Status, account_id_for
from grokgate.upstream.grokweb.transports import FALLBACK_METRIC
from tests.sdk import openai_client as client
from tests.support import ACCOUNTS, GatewayFactory, Sim

MSG = [{"role": "user", "content": "which transport?"}]
MODEL = "grok-4.20-0309-non-reasoning"  # fast: every tier, the cheapest tier first
SUPER = ACCOUNTS[0][1]
BASIC = ACCOUNTS[3][1]


def ask(url: str, *, stream: bool = False) -> str:
    c = client(url)
    if stream:
        parts = c.chat.completions.create(model=MODEL, messages=MSG, stream=True)
        return "".join(p.choices[0].delta.content or "" for p in parts if p.choices)
    out = c.chat.completions.create(model=MODEL, messages=MSG)
    return out.choices[0].message.content or ""


def fallbacks(stage: str = "handshake") -> int:
    return metrics.total(FALLBACK_METRIC, source="ws", target="rest", stage=stage)


def test_auto_serves_over_the_gateway_when_it_answers(make_gateway: GatewayFactory, sim: Sim):
    gw = make_gateway(web_chat_transport="auto")
    before = fallbacks()
    assert ask(gw.url).startswith("Echo: which transport?")
    turns = sim.state.chat_requests()
    assert [r.path for r in turns] == [MGW_PATH]
    assert turns[0].body["transport"] == "ws" and turns[0].body["uid"]
    assert fallbacks() == before


@pytest.mark.parametrize("refuse", [404, 403])
@pytest.mark.parametrize("stream", [False, True])
def test_auto_falls_back_to_rest_when_the_handshake_is_refused(
    make_gateway: GatewayFactory,
    sim: Sim,
    caplog: pytest.LogCaptureFixture,
    refuse: int,
    stream: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="grokgate")
    gw = make_gateway(web_chat_transport="auto")
    sim.state.gateway_refuse = refuse  # grok.com's gateway down (404) or challenged (403 CF)
    before = fallbacks()
    assert ask(gw.url, stream=stream).startswith("Echo: which transport?")
    assert [r.path for r in sim.state.chat_requests()] == [CHAT_PATH]  # REST served
    assert fallbacks() == before + 1
    lines = [r.getMessage() for r in caplog.records if r.name == "grokgate.transport"]
    assert len(lines) == 1
    assert "ws chat failed at the handshake" in lines[0] and "falling back to rest" in lines[0]
    assert str(refuse) in lines[0]


async def test_the_account_is_not_punished_for_a_fallback(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(web_chat_transport="auto", sso_tokens=f"basic:{BASIC}")
    sim.state.gateway_refuse = 404
    ask(gw.url)
    (account,) = (await gw.accounts()).values()
    assert account.status is Status.ACTIVE and account.fail_count == 0
    assert account.last_error is None
    assert account.user_id == sim.state.accounts[BASIC].user_id  # learnt once, stored


async def test_an_expired_account_is_a_verdict_not_a_fallback(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    """A 401 at the handshake says the account is dead: the pool marks it and another account
    serves, over the gateway again; REST is not asked."""
    gw = make_gateway(web_chat_transport="auto", sso_tokens=f"basic:{BASIC},super:{SUPER}")
    sim.state.inject(BASIC, "401")  # the basic account is tried first
    before = fallbacks()
    assert ask(gw.url).startswith("Echo:")
    turns = sim.state.chat_requests()
    assert [(r.path, r.token) for r in turns] == [(MGW_PATH, SUPER)]
    assert fallbacks() == before
    accounts = await gw.accounts()
    assert accounts[account_id_for(BASIC)].status is Status.EXPIRED
    assert accounts[account_id_for(SUPER)].status is Status.ACTIVE


def test_ws_only_reports_a_refused_gateway_as_an_upstream_failure(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(web_chat_transport="ws")
    sim.state.gateway_refuse = 404
    with pytest.raises(openai.APIStatusError) as info:
        ask(gw.url)
    assert info.value.status_code == 502
    assert sim.state.chat_requests() == []


def test_rest_only_never_opens_the_gateway(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway(web_chat_transport="rest")
    ask(gw.url, stream=True)
    assert [r.path for r in sim.state.chat_requests()] == [CHAT_PATH]
