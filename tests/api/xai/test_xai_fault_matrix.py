"""The fault matrix of the xAI relay (the fake xAI API), through the real SDKs.

Two keys; FIRST is the one the pool tries first. A fault named "every key" hits both.

=====================  ====================================  ==================================
fault                  one key failing (FIRST)                every key failing
=====================  ====================================  ==================================
401 (key unknown)      served by SECOND; FIRST expired        502 upstream_error; all expired
429 + Retry-After      served; FIRST rests until RA           429, Retry-After = the soonest RA
429, no Retry-After    served; FIRST rests cooldown_seconds   429, Retry-After 60
498 / 500 / 502 / 503  served; FIRST's health down            502 upstream_error
cut before any event   served; FIRST's health down            502 (JSON) / error event (stream)
cut after k events     stream: k events, then an error        -
                       event; not retried; health down
slow beyond deadline   504 upstream_timeout within about      health down, no lease
                       the deadline (one key)
client disconnects     the upstream request is cancelled      unpunished, no lease, and the
  mid stream           (the fake sees its client go away)     next request is served
=====================  ====================================  ==================================

The xAI API has no in-band error events nor 403 pages to fake; every key holds no lease
afterwards in every row.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import openai
import pytest

from grokgate.simulator.xai_state import XaiRecord
from grokgate.stores.records import XAI_MODE, Account, Status
from tests.api.fault_support import eventually, idle_pool, open_sse, parse_sse, read_sse, unpunished
from tests.api.xai.conftest import FIRST, KEYS, SECOND, Xai, key_id
from tests.sdk import anthropic_client, openai_client
from tests.support import Gateway, GatewayFactory

MSG: Any = [{"role": "user", "content": "alpha beta gamma delta epsilon"}]
ANSWER = "Echo: alpha beta gamma delta epsilon"
CHAT = "/v1/chat/completions"
COOLDOWN = 1234.0
DEADLINE = 0.5


def keyed(make_gateway: GatewayFactory, xai: Xai, keys: tuple[str, ...], **more: Any) -> Gateway:
    return make_gateway(
        xai_base_url=xai.url, xai_api_keys=",".join(keys), xai_ca_file=xai.ca_file, **more
    )


@pytest.fixture
def two_keys(make_gateway: GatewayFactory, xai: Xai) -> Gateway:
    return keyed(make_gateway, xai, KEYS, cooldown_seconds=COOLDOWN)


def break_key(xai: Xai, key: str, fault: str) -> None:
    """``fault`` on the next request of ``key`` ("401": the fake forgets the key)."""
    if fault == "401":
        xai.state.remove_key(key)
    else:
        retry_after = 30 if fault == "429-ra" else None
        xai.state.inject(key, fault.removesuffix("-ra"), retry_after=retry_after)


def ask(gw: Gateway, stream: bool) -> str:
    client = openai_client(gw.url)
    if not stream:
        out = client.chat.completions.create(model="grok-4", messages=MSG)
        assert out.choices[0].finish_reason == "stop"
        return out.choices[0].message.content or ""
    text, finish = [], None
    for chunk in client.chat.completions.create(model="grok-4", messages=MSG, stream=True):
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"
    return "".join(text)


# one key failing: served by the other ---------------------------------------------------------
# fault → (FIRST's status, its xAI window spent for N seconds)
ONE_FAILS: dict[str, tuple[Status, float | None]] = {
    "401": (Status.EXPIRED, None),
    "429-ra": (Status.ACTIVE, 30),  # rests until Retry-After
    "429": (Status.ACTIVE, COOLDOWN),  # no Retry-After: the pool's cooldown
    "498": (Status.ACTIVE, None),
    "500": (Status.ACTIVE, None),
    "502": (Status.ACTIVE, None),
    "503": (Status.ACTIVE, None),
    "cut": (Status.ACTIVE, None),  # streamed: before any event; JSON: half a body
}
CASES = [(f, False) for f in ONE_FAILS] + [(f, True) for f in ("401", "429-ra", "503", "cut")]


@pytest.mark.parametrize(
    ("fault", "stream"), CASES, ids=[f"{f}-{'sse' if s else 'json'}" for f, s in CASES]
)
async def test_fault_on_one_key_is_served_by_the_other(
    two_keys: Gateway, xai: Xai, fault: str, stream: bool
) -> None:
    status, spent_for = ONE_FAILS[fault]
    break_key(xai, FIRST, fault)
    started = time.time()
    assert ask(two_keys, stream) == ANSWER
    assert [r.key for r in xai.state.requests_for(CHAT)] == [FIRST, SECOND]
    pool = await idle_pool(two_keys)
    failed, served = pool[key_id(FIRST)], pool[key_id(SECOND)]
    assert failed.status is status and not unpunished(failed)
    assert failed.last_error and FIRST not in failed.last_error
    assert served.status is Status.ACTIVE and unpunished(served)
    # streamed, xAI's [DONE] reaches the client before the relay sees the upstream end: a
    # client that hangs up at once can make the success count as abandoned (not counted)
    assert served.use_count == 1 or stream
    quota = failed.quotas.get(XAI_MODE)
    if spent_for is None:
        assert quota is None  # untracked: xAI's own 429s are the limit
    else:
        assert quota is not None and quota.remaining == 0
        assert started + spent_for - 1 <= quota.reset_at <= time.time() + spent_for
    if fault.startswith("429"):  # the key rests: the next request goes to SECOND directly
        assert ask(two_keys, stream) == ANSWER
        assert [r.key for r in xai.state.requests_for(CHAT)] == [FIRST, SECOND, SECOND]


# every key failing: one clear error in the client's format -------------------------------------
def test_429_on_every_key_is_a_429_with_the_soonest_retry_after(
    two_keys: Gateway, xai: Xai
) -> None:
    xai.state.inject(FIRST, "429", retry_after=40)
    xai.state.inject(SECOND, "429", retry_after=20)
    with pytest.raises(openai.RateLimitError) as info:
        openai_client(two_keys.url).chat.completions.create(model="grok-4", messages=MSG)
    assert info.value.response.headers["retry-after"] == "20"
    body = info.value.response.json()["error"]
    assert (body["type"], body["code"]) == ("rate_limit_error", "upstream_rate_limited")
    assert not any(key in json.dumps(body) for key in KEYS)


# (fault, surface, stream) → (HTTP status, OpenAI type/code or Anthropic type, Retry-After)
ALL_FAIL: list[tuple[str, str, bool, int, str, str | None]] = [
    ("401", "openai", False, 502, "server_error/upstream_error", None),
    ("429-ra", "openai", True, 429, "rate_limit_error/upstream_rate_limited", "30"),
    ("429-ra", "anthropic", False, 429, "rate_limit_error", "30"),
    ("429", "openai", False, 429, "rate_limit_error/upstream_rate_limited", "60"),
    ("498", "anthropic", True, 502, "api_error", None),
    ("500", "openai", False, 502, "server_error/upstream_error", None),
    ("502", "anthropic", False, 502, "api_error", None),
    ("503", "openai", True, 502, "server_error/upstream_error", None),
    ("cut", "openai", False, 502, "server_error/upstream_stream_error", None),
]


@pytest.mark.parametrize(
    ("fault", "surface", "stream", "http", "kind", "wait"),
    ALL_FAIL,
    ids=[f"{f}-{s}-{'sse' if st else 'json'}" for f, s, st, *_ in ALL_FAIL],
)
async def test_fault_on_every_key_is_one_clear_error(
    two_keys: Gateway,
    xai: Xai,
    fault: str,
    surface: str,
    stream: bool,
    http: int,
    kind: str,
    wait: str | None,
) -> None:
    for key in KEYS:
        break_key(xai, key, fault)
    if surface == "openai":
        with pytest.raises(openai.APIStatusError) as oa:
            openai_client(two_keys.url).chat.completions.create(
                model="grok-4", messages=MSG, stream=stream
            )
        response = oa.value.response
        error = response.json()["error"]
        assert f"{error['type']}/{error['code']}" == kind
    else:
        with pytest.raises(anthropic.APIStatusError) as an:
            anthropic_client(two_keys.url).messages.create(
                model="grok-4", max_tokens=64, messages=MSG, stream=stream
            )
        response = an.value.response
        assert response.json()["type"] == "error"
        error = response.json()["error"]
        assert error["type"] == kind
    assert response.status_code == http
    assert response.headers["content-type"].startswith("application/json")  # not a stream
    assert response.headers.get("retry-after") == wait
    assert error["message"] and not any(key in response.text for key in KEYS)
    if fault.isdigit() and fault != "401":  # an outage: the client learns what xAI answered
        assert fault in error["message"]
    assert len(xai.state.requests_for()) == 2
    pool = await idle_pool(two_keys)
    for key in KEYS:
        account = pool[key_id(key)]
        assert account.status is (Status.EXPIRED if fault == "401" else Status.ACTIVE)
        assert not unpunished(account)


async def test_a_stream_cut_before_any_event_on_every_key_ends_with_an_error_event(
    two_keys: Gateway, xai: Xai
) -> None:
    for key in KEYS:  # xAI said 200 first: the stream began, then broke on both keys
        xai.state.inject(key, "cut", after=0)
    sse = read_sse(f"{two_keys.url}{CHAT}", {"model": "grok-4", "messages": MSG, "stream": True})
    assert sse.status == 200 and sse.names == ["error"]
    assert sse.json(0)["error"]["code"] == "upstream_stream_error"
    assert [r.key for r in xai.state.requests_for(CHAT)] == [FIRST, SECOND]
    await idle_pool(two_keys)


# after the stream began -----------------------------------------------------------------------
@pytest.mark.parametrize("path", [CHAT, "/v1/messages"])
async def test_a_stream_cut_after_k_events_ends_with_an_error_event(
    two_keys: Gateway, xai: Xai, path: str
) -> None:
    xai.state.inject(FIRST, "cut", after=3)
    body = {"model": "grok-4", "max_tokens": 64, "messages": MSG, "stream": True}
    sse = read_sse(f"{two_keys.url}{path}", body)
    assert sse.status == 200 and len(sse.events) == 4  # the 3 events xAI sent, then the error
    assert sse.names[-1] == "error" and "[DONE]" not in [data for _, data in sse.events]
    if path == CHAT:
        assert sse.json(1)["choices"][0]["delta"]["content"] == "Echo:"
        assert sse.json(-1)["error"]["code"] == "upstream_stream_error"
    else:
        assert sse.names[0] == "message_start" and "message_stop" not in sse.names
        assert sse.json(-1)["error"]["type"] == "api_error"
    assert [r.key for r in xai.state.requests_for(path)] == [FIRST]  # text was shown: no retry
    pool = await idle_pool(two_keys)
    assert not unpunished(pool[key_id(FIRST)]) and pool[key_id(SECOND)].use_count == 0


# the deadline ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["openai-sse", "anthropic-json"])
async def test_an_upstream_slower_than_the_deadline_is_a_quick_504(
    make_gateway: GatewayFactory, xai: Xai, mode: str
) -> None:
    gw = keyed(make_gateway, xai, (FIRST,), request_deadline=DEADLINE)
    assert ask(gw, stream=False) == ANSWER  # timed below without the first-request set-up
    xai.state.inject(FIRST, "slow", delay=2.0)
    started = time.monotonic()
    if mode.startswith("openai"):
        with pytest.raises(openai.APIStatusError) as oa:
            openai_client(gw.url).chat.completions.create(
                model="grok-4", messages=MSG, stream=mode.endswith("sse")
            )
        assert oa.value.response.json()["error"]["code"] == "upstream_timeout"
        status = oa.value.status_code
    else:
        with pytest.raises(anthropic.APIStatusError) as an:
            anthropic_client(gw.url).messages.create(model="grok-4", max_tokens=64, messages=MSG)
        assert an.value.response.json()["error"]["type"] == "timeout_error"
        status = an.value.status_code
    assert status == 504
    assert time.monotonic() - started < DEADLINE + 1.0  # not the 2 s xAI would take
    account = (await idle_pool(gw))[key_id(FIRST)]
    assert account.status is Status.ACTIVE and not unpunished(account)


async def test_a_key_slower_than_the_deadline_is_replaced_by_another(
    make_gateway: GatewayFactory, xai: Xai
) -> None:
    gw = keyed(make_gateway, xai, KEYS, request_deadline=DEADLINE)
    xai.state.inject(FIRST, "slow", delay=2.0)  # (how soon: see the test above)
    assert ask(gw, stream=True) == ANSWER
    assert [r.key for r in xai.state.requests_for(CHAT)] == [FIRST, SECOND]
    await idle_pool(gw)


# a client that goes away mid-stream ---------------------------------------------------------
def leave_mid_stream(gw: Gateway, xai: Xai, path: str) -> XaiRecord:
    """Open a stream, read up to the first word (the fake then holds the second), close the
    connection; the fake's record of that request."""
    xai.state.hold_chunks = True  # each content event after the first waits for a release
    body = {"model": "grok-4", "max_tokens": 64, "messages": MSG, "stream": True}
    with open_sse(f"{gw.url}{path}", body) as response:
        assert response.status_code == 200
        events = parse_sse(response.iter_lines())  # held: closing it would close the socket
        while "Echo:" not in next(events)[1]:
            pass
        upstream = xai.state.last(path)
        assert upstream.outcome is None  # held before its second word
    return upstream


@pytest.mark.parametrize("path", [CHAT, "/v1/messages"])
async def test_a_client_that_leaves_mid_stream_frees_the_lease(
    make_gateway: GatewayFactory, xai: Xai, path: str
) -> None:
    gw = keyed(make_gateway, xai, (FIRST,))
    xai.state.gate_timeout = 2.0
    leave_mid_stream(gw, xai, path)
    pool: dict[str, Account] = await eventually(
        gw.accounts, lambda now: not now[key_id(FIRST)].leases
    )
    account = pool[key_id(FIRST)]
    assert account.leases == {} and unpunished(account) and account.status is Status.ACTIVE
    xai.state.hold_chunks = False
    assert ask(gw, stream=False) == ANSWER  # the relay is still well


async def test_a_client_that_leaves_mid_stream_cancels_the_upstream_request(
    make_gateway: GatewayFactory, xai: Xai
) -> None:
    gw = keyed(make_gateway, xai, (FIRST,))
    xai.state.gate_timeout = 5.0
    upstream = leave_mid_stream(gw, xai, CHAT)

    async def outcome() -> str | None:
        return upstream.outcome

    try:  # a reset stream shows at once; after a second, the answer is let go to its end
        assert await eventually(outcome, lambda v: v is not None, within=1.0) == "client_gone"
    finally:  # let the answer end before the gateway does (no stream left for teardown)
        xai.state.hold_chunks = False
        await eventually(outcome, lambda v: v is not None)
