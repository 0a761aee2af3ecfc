"""The fault matrix of the grok.com web path, part 2: after the stream began, the deadline, and
a client that goes away (see :mod:`tests.api.test_fault_matrix` for the table of part 1).

==========================  ==============================================  ====================
fault                       client outcome                                  pool afterwards
==========================  ==============================================  ====================
cut after k tokens          stream: k text deltas, then an error event      FIRST health down,
(also a clean EOF)          (502 upstream_stream_error), no finish, no      last_error set, no
                            [DONE]; not retried (text was shown).           lease; SECOND unused
                            JSON: 502, not retried either
slow before the first byte  504 upstream_timeout (Anthropic timeout_error)  health down, no lease
  beyond request_deadline   within about the deadline, streamed or not
slow tokens beyond it       stream: the tokens so far, then a 504 error     health down, no lease
                            event
client disconnects mid      the upstream request is cancelled (grok.com     unpunished, no lease,
  stream                    sees its client go away before the answer       and the next request
                            ends)                                           is served
==========================  ==============================================  ====================
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from grokgate.simulator.app import create_app as create_simulator
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from grokgate.stores.records import Status, account_id_for
from tests.api.fault_support import eventually, idle_pool, open_sse, parse_sse, read_sse, unpunished
from tests.sdk import anthropic_client, openai_client
from tests.support import ALL_TOKENS, Gateway, GatewayFactory, Sim

SUPER = [t for t in ALL_TOKENS if "super" in t]
FIRST = min(SUPER, key=account_id_for)
SECOND = next(t for t in SUPER if t != FIRST)
FAST = "grok-4.20-fast"  # fast mode: no thinking, so frame k+3 is text token k
WORDS = " ".join(f"w{i}" for i in range(16))
MSG: Any = [{"role": "user", "content": WORDS}]
HEAD_FRAMES = 3  # conversation, userResponse, llmInfo
K = 3  # text tokens the client sees before a cut


@pytest.fixture
def two_supers(make_gateway: GatewayFactory) -> Gateway:
    return make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))


def contents(sse_events: list[tuple[str | None, str]]) -> list[str]:
    """The text deltas of an OpenAI chat stream."""
    out = []
    for name, data in sse_events:
        if name is None and data != "[DONE]":
            choices = json.loads(data)["choices"]
            if choices and choices[0]["delta"].get("content"):
                out.append(choices[0]["delta"]["content"])
    return out


# after the stream began: partial content, then an error event -----------------------------------
@pytest.mark.parametrize("fault", ["cut", "truncate"])
async def test_a_stream_cut_after_k_tokens_ends_with_an_error_event(
    two_supers: Gateway, sim: Sim, fault: str
) -> None:
    sim.state.inject(FIRST, fault, after=HEAD_FRAMES + K)
    body = {"model": FAST, "messages": MSG, "stream": True}
    sse = read_sse(f"{two_supers.url}/v1/chat/completions", body)
    assert sse.status == 200
    assert contents(sse.events) == ["Echo: ", "w0 ", "w1 "][:K]
    assert sse.names[-1] == "error" and "[DONE]" not in [d for _, d in sse.events]
    assert all(
        sse.json(i)["choices"][0]["finish_reason"] is None for i in range(len(sse.events) - 1)
    )
    error = sse.json(-1)["error"]
    assert (error["type"], error["code"]) == ("server_error", "upstream_stream_error")
    assert [r.token for r in sim.state.chat_requests()] == [FIRST]  # text was shown: no retry
    pool = await idle_pool(two_supers)
    cut = pool[account_id_for(FIRST)]
    assert cut.status is Status.ACTIVE and cut.health < 1.0 and cut.last_error
    assert pool[account_id_for(SECOND)].use_count == 0


def test_a_cut_stream_raises_in_both_sdks(two_supers: Gateway, sim: Sim) -> None:
    for token in SUPER:  # the second request goes to the healthier account
        sim.state.inject(token, "cut", after=HEAD_FRAMES + K)
    seen: list[str] = []
    with pytest.raises(openai.APIError, match="stream"):
        for chunk in openai_client(two_supers.url).chat.completions.create(
            model=FAST, messages=MSG, stream=True
        ):
            seen.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(seen) == "Echo: w0 w1 "
    text: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        anthropic_client(two_supers.url).messages.stream(
            model=FAST, max_tokens=256, messages=MSG
        ) as stream,
    ):
        for piece in stream.text_stream:
            text.append(piece)
    assert "".join(text) == "Echo: w0 w1 "
    assert info.value.body["error"]["type"] == "api_error"  # type: ignore[index]


async def test_a_cut_after_text_without_streaming_is_a_502(two_supers: Gateway, sim: Sim) -> None:
    sim.state.inject(FIRST, "cut", after=HEAD_FRAMES + K)
    with pytest.raises(openai.InternalServerError) as info:
        openai_client(two_supers.url).chat.completions.create(model=FAST, messages=MSG)
    assert info.value.status_code == 502
    assert info.value.response.json()["error"]["code"] == "upstream_stream_error"
    # not retried: the pool treats text of the answer as shown, buffered or not
    assert [r.token for r in sim.state.chat_requests()] == [FIRST]
    pool = await idle_pool(two_supers)
    assert not unpunished(pool[account_id_for(FIRST)])


# the deadline ---------------------------------------------------------------------------------
DEADLINE = 0.5


def warm_up(gw: Gateway) -> None:
    """One answer first: what follows is timed without the gateway's first-request set-up."""
    hi: Any = [{"role": "user", "content": "hi"}]
    assert openai_client(gw.url).chat.completions.create(model=FAST, messages=hi).choices


@pytest.mark.parametrize("surface", ["openai-sse", "anthropic-json"])
async def test_an_upstream_slower_than_the_deadline_is_a_quick_504(
    make_gateway: GatewayFactory, sim: Sim, surface: str
) -> None:
    gw = make_gateway(sso_tokens=f"super:{FIRST}", request_deadline=DEADLINE)
    warm_up(gw)
    sim.state.inject(FIRST, "slow", delay=2.0)  # grok.com sends nothing for 2 s
    started = time.monotonic()
    if surface.startswith("openai"):
        with pytest.raises(openai.APIStatusError) as oa:
            openai_client(gw.url).chat.completions.create(
                model=FAST, messages=MSG, stream=surface.endswith("sse")
            )
        error = oa.value.response.json()["error"]
        assert (error["type"], error["code"]) == ("server_error", "upstream_timeout")
        status = oa.value.status_code
    else:
        with pytest.raises(anthropic.APIStatusError) as an:
            anthropic_client(gw.url).messages.create(model=FAST, max_tokens=64, messages=MSG)
        assert an.value.response.json()["error"]["type"] == "timeout_error"
        status = an.value.status_code
    assert status == 504
    assert time.monotonic() - started < DEADLINE + 1.0  # not the 2 s grok.com would take
    pool = await idle_pool(gw)
    account = pool[account_id_for(FIRST)]
    assert account.status is Status.ACTIVE and not unpunished(account)


async def test_an_upstream_slower_than_the_deadline_on_one_account_is_served_by_another(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER), request_deadline=DEADLINE)
    sim.state.inject(FIRST, "slow", delay=2.0)  # (how soon: see the test above)
    out = openai_client(gw.url).chat.completions.create(model=FAST, messages=MSG)
    assert out.choices[0].message.content
    assert [r.token for r in sim.state.chat_requests()] == [FIRST, SECOND]
    await idle_pool(gw)


# a simulator that takes its time per token ------------------------------------------------------
TOKEN_DELAY = 0.1
SLOW = "sso-slow-super-1-eyJhbGciOiJIUzI1NiJ9"


@pytest.fixture(scope="module")
def slow_sim_server() -> Iterator[Sim]:
    state = SimState()
    state.add_account(SLOW, "super")
    with ServerThread(create_simulator(state, token_delay=TOKEN_DELAY)) as server:
        yield Sim(state, server.url)


@pytest.fixture
def slow_sim(slow_sim_server: Sim) -> Iterator[Sim]:
    slow_sim_server.state.reset()
    yield slow_sim_server
    slow_sim_server.state.reset()


def on_slow_sim(make_gateway: GatewayFactory, sim: Sim, **settings: object) -> Gateway:
    return make_gateway(
        grok_base_url=sim.url,
        grok_assets_url=f"{sim.url}/assets",
        sso_tokens=f"super:{SLOW}",
        **settings,
    )


async def test_tokens_slower_than_the_deadline_end_the_stream_with_a_504_event(
    make_gateway: GatewayFactory, slow_sim: Sim
) -> None:
    gw = on_slow_sim(make_gateway, slow_sim, request_deadline=DEADLINE)
    sse = read_sse(
        f"{gw.url}/v1/chat/completions", {"model": FAST, "messages": MSG, "stream": True}
    )
    # one token per 0.1 s: about 5 of the answer's 18 fit in the deadline
    assert sse.status == 200 and 1 <= len(contents(sse.events)) < 10
    error = sse.json(-1)["error"]
    assert sse.names[-1] == "error" and error["code"] == "upstream_timeout"
    account = (await idle_pool(gw))[account_id_for(SLOW)]
    assert not unpunished(account)


# a client that goes away mid-stream ---------------------------------------------------------
DISCONNECTS = {
    "openai": ("/v1/chat/completions", {"model": FAST, "messages": MSG, "stream": True}),
    "anthropic": (
        "/v1/messages",
        {"model": FAST, "max_tokens": 256, "messages": MSG, "stream": True},
    ),
}


@pytest.mark.parametrize("surface", list(DISCONNECTS))
async def test_a_client_that_leaves_mid_stream_cancels_the_upstream_and_frees_the_lease(
    make_gateway: GatewayFactory, slow_sim: Sim, surface: str
) -> None:
    gw = on_slow_sim(make_gateway, slow_sim)
    path, body = DISCONNECTS[surface]
    with open_sse(f"{gw.url}{path}", body) as response:
        assert response.status_code == 200
        events = parse_sse(response.iter_lines())  # held: closing it would close the socket
        texts = 0
        while texts < 2:  # two tokens of about eighteen: grok.com is mid-answer
            _, data = next(events)
            texts += '"Echo: "' in data or '"w0 "' in data
        [upstream] = slow_sim.state.chat_requests()
        assert upstream.outcome is None
        assert (await gw.accounts())[account_id_for(SLOW)].inflight == 1

    # the connection is closed: the gateway must stop its own request to grok.com ...
    async def outcome() -> str | None:
        return upstream.outcome

    # ("completed" about 1.6 s later if the gateway had let it run)
    assert await eventually(outcome, lambda value: value is not None) == "client_gone"
    # ... and give the account back, learning nothing about it
    pool = await eventually(gw.accounts, lambda now: not now[account_id_for(SLOW)].leases)
    account = pool[account_id_for(SLOW)]
    assert account.leases == {} and unpunished(account) and account.status is Status.ACTIVE
    # the gateway is still well: the next request is served
    short: Any = [{"role": "user", "content": "hi"}]
    out = openai_client(gw.url).chat.completions.create(model=FAST, messages=short)
    assert out.choices[0].finish_reason == "stop"
