"""The fault matrix of the grok.com web path (simulator faults), through the real SDKs.

Two super accounts; FIRST is the one the pool tries first. Per fault:

=====================  ===================================  ==================================
fault                  one account failing (FIRST)          every account failing
=====================  ===================================  ==================================
401                    served by SECOND; FIRST expired       502 upstream_error; all expired
403 Cloudflare page    served; FIRST unpunished              502 upstream_challenge; unpunished
403 anti-bot (code 7)  served; FIRST unpunished              502 upstream_anti_bot; unpunished
403 blocked-user       served; FIRST disabled                502 upstream_error; all disabled
429 + Retry-After      served; FIRST's mode spent until RA   429, Retry-After = RA
429, no Retry-After    served; spent for cooldown_seconds    429, Retry-After 60
500 / 502 / 503        served; FIRST's health down           502 upstream_error
in-band rate limit     served; spent for cooldown_seconds    429 upstream_rate_limited (*)
in-band response err   served; FIRST's health down           502 upstream_error (*)
cut / clean EOF        served; FIRST's health down           -
  before any text
=====================  ===================================  ==================================

"served" is by SECOND, streamed or not, with SECOND unpunished. Every account failing is an
HTTP error in the client's format, streamed or not (never an empty 200), except (*) streamed:
grok.com's 200 began the stream, so the client gets a 200 with no text and a final error event
(no ``[DONE]``, no ``message_stop``). No account holds a lease afterwards. Faults after the
text began (a cut or a clean EOF after k tokens), the deadline and a client that goes away are
in :mod:`tests.api.test_fault_matrix_stream`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import anthropic
import openai
import pytest

from grokgate.stores.records import Status, account_id_for
from tests.api.fault_support import idle_pool, read_sse, unpunished
from tests.sdk import anthropic_client, openai_client
from tests.support import ALL_TOKENS, Gateway, GatewayFactory, Sim

SUPER = [t for t in ALL_TOKENS if "super" in t]
FIRST = min(SUPER, key=account_id_for)  # equal scores: the pool breaks ties by account id
SECOND = next(t for t in SUPER if t != FIRST)
MODEL = "grok-4.20-0309"  # auto mode: two super accounts can serve it
MSG: Any = [{"role": "user", "content": "fault matrix"}]
COOLDOWN = 1234.0  # the pool's cooldown for a 429 that names no wait
RETRY_AFTER = 120


@pytest.fixture
def two_supers(make_gateway: GatewayFactory) -> Gateway:
    return make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER), cooldown_seconds=COOLDOWN)


def ask_openai(gw: Gateway, stream: bool) -> str:
    """The answer's text, through the openai SDK (streamed: it must finish with ``stop``)."""
    client = openai_client(gw.url)
    if not stream:
        out = client.chat.completions.create(model=MODEL, messages=MSG)
        assert out.choices[0].finish_reason == "stop"
        return out.choices[0].message.content or ""
    text, finish = [], None
    for chunk in client.chat.completions.create(model=MODEL, messages=MSG, stream=True):
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"
    return "".join(text)


# one account failing: served by the other ------------------------------------------------------
# (fault, retry_after, FIRST's status, punished, its auto window spent for N seconds)
ONE_FAILS = {
    "401": (None, Status.EXPIRED, True, None),
    "403_cf": (None, Status.ACTIVE, False, None),  # Cloudflare: not the account's fault
    "403_antibot": (None, Status.ACTIVE, False, None),
    "403_blocked": (None, Status.DISABLED, True, None),
    "429-ra": (RETRY_AFTER, Status.ACTIVE, True, RETRY_AFTER),  # until grok.com's Retry-After
    "429": (None, Status.ACTIVE, True, COOLDOWN),  # no Retry-After: the pool's cooldown
    "500": (None, Status.ACTIVE, True, None),
    "502": (None, Status.ACTIVE, True, None),
    "503": (None, Status.ACTIVE, True, None),
    "inband_error": (None, Status.ACTIVE, True, COOLDOWN),  # in-band rate limit: no wait named
    "inband_response_error": (None, Status.ACTIVE, True, None),
    "cut": (None, Status.ACTIVE, True, None),  # after the conversation frame: no text yet
    "truncate": (None, Status.ACTIVE, True, None),
}
# A fault before grok.com accepted the request takes the same path streamed or not (the stream
# has not begun); the in-band ones come after the 200, inside the stream: both ways for those.
STREAMED_TOO = ("401", "429", "inband_error", "inband_response_error", "cut", "truncate")


def fault_of(case: str) -> str:
    return case.removesuffix("-ra")


@pytest.mark.parametrize(
    ("case", "stream"),
    [(case, False) for case in ONE_FAILS] + [(case, True) for case in STREAMED_TOO],
    ids=[f"{c}-json" for c in ONE_FAILS] + [f"{c}-sse" for c in STREAMED_TOO],
)
async def test_fault_on_one_account_is_served_by_the_other(
    two_supers: Gateway, sim: Sim, case: str, stream: bool
) -> None:
    retry_after, status, punished, spent_for = ONE_FAILS[case]
    sim.state.inject(FIRST, fault_of(case), retry_after=retry_after, after=1)
    started = time.time()
    assert ask_openai(two_supers, stream).startswith("Echo: fault matrix")
    assert [r.token for r in sim.state.chat_requests()] == [FIRST, SECOND]
    pool = await idle_pool(two_supers)
    failed, served = pool[account_id_for(FIRST)], pool[account_id_for(SECOND)]
    assert failed.status is status
    assert (not unpunished(failed)) is punished
    assert served.status is Status.ACTIVE and unpunished(served) and served.use_count == 1
    auto = failed.quotas["auto"]
    if spent_for is None:
        assert auto.remaining > 0
    else:  # that window only: the account still serves other modes
        assert auto.remaining == 0
        assert started + spent_for - 1 <= auto.reset_at <= time.time() + spent_for
        assert failed.window_for("fast", time.time()) == "fast"


# every account failing: one clear error, in the client's format --------------------------------
@dataclass(frozen=True)
class Clear:
    """The error every account failing must give: HTTP status, OpenAI type and code, Anthropic
    type, the Retry-After header, and the accounts' status afterwards."""

    http: int
    oa_type: str
    code: str
    an_type: str
    retry_after: str | None
    status: Status
    punished: bool = True


UPSTREAM_5XX = Clear(502, "server_error", "upstream_error", "api_error", None, Status.ACTIVE)
LIMITED = Clear(
    429, "rate_limit_error", "upstream_rate_limited", "rate_limit_error", "60", Status.ACTIVE
)
ALL_FAIL = {
    "401": replace(UPSTREAM_5XX, status=Status.EXPIRED),
    "403_cf": replace(UPSTREAM_5XX, code="upstream_challenge", punished=False),
    "403_antibot": replace(UPSTREAM_5XX, code="upstream_anti_bot", punished=False),
    "403_blocked": replace(UPSTREAM_5XX, status=Status.DISABLED),
    "429-ra": replace(LIMITED, retry_after="90"),
    "429": LIMITED,  # no wait named: 60 s (the pool itself holds the mode for its cooldown)
    "500": UPSTREAM_5XX,
    "502": UPSTREAM_5XX,
    "503": UPSTREAM_5XX,
    "inband_error": LIMITED,
    "inband_response_error": UPSTREAM_5XX,
}
INBAND = ("inband_error", "inband_response_error")
# OpenAI without streaming and Anthropic streamed for every fault; the other two ways for a
# fault before the stream began (429) and for the in-band ones
SURFACES = [(c, "openai", False) for c in ALL_FAIL]
SURFACES += [(c, "anthropic", True) for c in ALL_FAIL if c not in ("500", "502")]  # as 503
SURFACES += [(c, "openai", True) for c in ("429", *INBAND)]
SURFACES += [(c, "anthropic", False) for c in ("429", *INBAND)]


@pytest.mark.parametrize(
    ("case", "surface", "stream"),
    SURFACES,
    ids=[f"{c}-{s}-{'sse' if st else 'json'}" for c, s, st in SURFACES],
)
async def test_fault_on_every_account_is_one_clear_error(
    two_supers: Gateway, sim: Sim, case: str, surface: str, stream: bool
) -> None:
    want = ALL_FAIL[case]
    for token in SUPER:
        sim.state.inject(token, fault_of(case), times=-1, retry_after=90 if "-ra" in case else None)
    if stream and case in INBAND:  # grok.com said 200 first: the stream began, then failed
        error = streamed_error(two_supers, surface)
    else:
        error = http_error(two_supers, surface, stream, want)
    if surface == "openai":
        assert (error["type"], error["code"]) == (want.oa_type, want.code)
    else:
        assert error["type"] == want.an_type
    assert error["message"] and not any(token in error["message"] for token in SUPER)
    assert len(sim.state.chat_requests()) == 2  # each account once, then the error
    pool = await idle_pool(two_supers)
    for token in SUPER:
        account = pool[account_id_for(token)]
        assert account.status is want.status
        assert (not unpunished(account)) is want.punished


def http_error(gw: Gateway, surface: str, stream: bool, want: Clear) -> dict[str, Any]:
    """The error body of a request answered with an HTTP error (never an empty 200 stream)."""
    if surface == "openai":
        with pytest.raises(openai.APIStatusError) as oa:
            openai_client(gw.url).chat.completions.create(model=MODEL, messages=MSG, stream=stream)
        response = oa.value.response
        error: dict[str, Any] = response.json()["error"]
    else:
        with pytest.raises(anthropic.APIStatusError) as an:
            anthropic_client(gw.url).messages.create(
                model=MODEL, max_tokens=64, messages=MSG, stream=stream
            )
        response = an.value.response
        assert response.json()["type"] == "error"
        error = response.json()["error"]
    assert response.status_code == want.http
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("retry-after") == want.retry_after
    return error


def streamed_error(gw: Gateway, surface: str) -> dict[str, Any]:
    """The final error event of a stream that began (no text, never a clean finish)."""
    if surface == "openai":
        sse = read_sse(
            f"{gw.url}/v1/chat/completions", {"model": MODEL, "messages": MSG, "stream": True}
        )
        assert sse.status == 200 and sse.names[-1] == "error"
        assert all(name is None for name in sse.names[:-1])  # the role chunk only, no [DONE]
        assert [
            sse.json(i)["choices"][0]["delta"].get("content") for i in range(len(sse.events) - 1)
        ] == [""]
        return dict(sse.json(-1)["error"])
    body = {"model": MODEL, "max_tokens": 64, "messages": MSG, "stream": True}
    sse = read_sse(f"{gw.url}/v1/messages", body)
    assert sse.status == 200 and sse.names[0] == "message_start" and sse.names[-1] == "error"
    assert "content_block_delta" not in sse.names and "message_stop" not in sse.names
    error = sse.json(-1)
    assert error["type"] == "error"
    return dict(error["error"])


def test_after_every_account_expired_the_pool_says_so(two_supers: Gateway, sim: Sim) -> None:
    for token in SUPER:
        sim.state.inject(token, "401", times=-1)
    client = openai_client(two_supers.url)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODEL, messages=MSG)
    with pytest.raises(openai.InternalServerError) as after:
        client.chat.completions.create(model=MODEL, messages=MSG)
    assert after.value.status_code == 503  # no account left: grok.com is not called again
    assert after.value.response.json()["error"]["code"] == "no_account_available"
    assert len(sim.state.chat_requests()) == 2
