"""GrokWebClient.rate_limits against the live simulator (and a mock upstream), and RateLimits."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

import grokgate.upstream.grokweb.client as client_module
from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.errors import UpstreamError, UpstreamTimeoutError, Verdict
from grokgate.simulator.state import RATE_LIMITS_PATH as SIM_RATE_LIMITS_PATH
from grokgate.stores.records import COMPUTER_USE, Account, account_id_for
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.ratelimits import (
    DEFAULT_WINDOW_SECONDS,
    RATE_LIMITS_BODY_LIMIT,
    RateLimits,
    parse_rate_limits,
    rate_limits_body,
)
from grokgate.upstream.grokweb.request import RATE_LIMITS_PATH
from grokgate.upstream.grokweb.statsig import InProcessSigner
from tests.support import ACCOUNTS, Sim
from tests.upstream.browser_support import UA, web_over

TOKENS = {tier: token for tier, token in reversed(ACCOUNTS)}  # the first account of each tier
UNKNOWN = "sso-not-an-account-eyJhbGciOiJIUzI1NiJ9"


def account(token: str) -> Account:
    return Account(id=account_id_for(token), token=SecretStr(token))


class CountingSigner(InProcessSigner):
    def __init__(self, suffix: str = DEMO_STATSIG_SUFFIX) -> None:
        super().__init__(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), suffix)
        self.signed: list[tuple[str, str]] = []
        self.invalidated = 0

    async def sign(self, method: str, path: str) -> str:
        self.signed.append((method, path))
        return await super().sign(method, path)

    def invalidate(self) -> None:
        self.invalidated += 1


def web_client(base_url: str, http: httpx.AsyncClient, signer: InProcessSigner) -> GrokWebClient:
    return GrokWebClient(web_over(http, base_url), signer=signer)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = httpx.AsyncClient(timeout=30.0)
    yield client
    await client.aclose()


@pytest.fixture
def signer() -> CountingSigner:
    return CountingSigner()


@pytest.fixture
def gw(sim: Sim, http: httpx.AsyncClient, signer: CountingSigner) -> GrokWebClient:
    return web_client(sim.url, http, signer)


# --- against the simulator ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "window", "totals"),
    [
        ("basic", 86400, {"auto": 0, "fast": 30, "expert": 0, "heavy": 0, COMPUTER_USE: 0}),
        ("super", 7200, {"auto": 50, "fast": 140, "expert": 50, "heavy": 0, COMPUTER_USE: 50}),
        ("heavy", 7200, {"auto": 150, "fast": 400, "expert": 150, "heavy": 20, COMPUTER_USE: 150}),
    ],
)
async def test_totals_per_tier(
    gw: GrokWebClient, tier: str, window: int, totals: dict[str, int]
) -> None:
    acct = account(TOKENS[tier])
    for mode, total in totals.items():
        limits = await gw.rate_limits(acct, mode)
        assert limits == RateLimits(
            window_size_seconds=window, remaining_queries=total, total_queries=total
        )


async def test_remaining_follows_grok(sim: Sim, gw: GrokWebClient) -> None:
    token = TOKENS["super"]
    sim.state.set_remaining(token, "expert", 7)
    limits = await gw.rate_limits(account(token), "expert")
    assert (limits.remaining_queries, limits.total_queries) == (7, 50)


async def test_request_is_signed_for_its_path(
    sim: Sim, gw: GrokWebClient, signer: CountingSigner
) -> None:
    token = TOKENS["heavy"]
    await gw.rate_limits(account(token), "heavy")
    assert signer.signed == [("POST", RATE_LIMITS_PATH)]
    (request,) = [r for r in sim.state.requests if r.path == SIM_RATE_LIMITS_PATH]
    assert request.method == "POST"
    assert request.statsig_ok, request.statsig_reason
    assert request.body == {"modelName": "heavy"}
    assert request.cookies["sso"] == token and request.cookies["sso-rw"] == token
    assert request.headers["user-agent"] == UA
    assert request.headers["content-type"] == "application/json"


async def test_unknown_token_is_expired(gw: GrokWebClient) -> None:
    with pytest.raises(UpstreamError) as info:
        await gw.rate_limits(account(UNKNOWN), "fast")
    assert info.value.verdict is Verdict.EXPIRED
    assert info.value.upstream_status == 401
    assert UNKNOWN not in str(info.value)


async def test_bad_statsig_is_a_challenge_and_invalidates_the_signer(
    sim: Sim, http: httpx.AsyncClient
) -> None:
    signer = CountingSigner(suffix="not-the-demo-suffix")
    with pytest.raises(UpstreamError) as info:
        await web_client(sim.url, http, signer).rate_limits(account(TOKENS["super"]), "auto")
    assert info.value.verdict is Verdict.CHALLENGED
    assert signer.invalidated == 1


# --- against a mock upstream --------------------------------------------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> GrokWebClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return web_client("https://grok.test/", http, CountingSigner())


ACCT = account("sso-mock-account-0001")


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (401, '{"error":{"code":16,"message":"invalid-credentials"}}', Verdict.EXPIRED),
        (
            403,
            '{"error":{"code":7,"message":"User is blocked [WKE=x:blocked-user]"}}',
            Verdict.BLOCKED,
        ),
        (429, '{"error":{"code":8,"message":"Too many requests"}}', Verdict.RATE_LIMITED),
        (500, '{"error":{"code":13,"message":"Failed to send request."}}', Verdict.UNAVAILABLE),
    ],
)
async def test_http_errors_are_classified(status: int, body: str, verdict: Verdict) -> None:
    gw = mock_client(lambda _: httpx.Response(status, text=body))
    with pytest.raises(UpstreamError) as info:
        await gw.rate_limits(ACCT, "auto")
    assert info.value.verdict is verdict
    assert info.value.upstream_status == status


@pytest.mark.parametrize(
    "body",
    [b"<html>nope</html>", b"[1, 2]", b'{"remainingQueries": "lots"}', b"x" * (70 * 1024)],
)
async def test_unexpected_body_is_unavailable(body: bytes) -> None:
    gw = mock_client(lambda _: httpx.Response(200, content=body))
    with pytest.raises(UpstreamError) as info:
        await gw.rate_limits(ACCT, "auto")
    assert info.value.verdict is Verdict.UNAVAILABLE
    assert len(body) < RATE_LIMITS_BODY_LIMIT or "too large" in str(info.value)


async def test_sends_the_mode_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"remainingQueries": 3, "totalQueries": 50})

    limits = await mock_client(handler).rate_limits(ACCT, "expert")
    assert limits.remaining_queries == 3 and limits.window_size_seconds == DEFAULT_WINDOW_SECONDS
    assert str(seen[0].url) == "https://grok.test" + RATE_LIMITS_PATH
    assert json.loads(seen[0].content) == {"modelName": "expert"}
    assert seen[0].extensions["timeout"]["read"] == client_module.RATE_LIMITS_TIMEOUT


async def test_transport_errors_are_translated() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamError) as info:
        await mock_client(refused).rate_limits(ACCT, "auto")
    assert info.value.verdict is Verdict.UNAVAILABLE
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    with pytest.raises(UpstreamTimeoutError):
        await mock_client(slow).rate_limits(ACCT, "auto")


async def test_the_whole_call_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    class SlowSigner(CountingSigner):
        async def sign(self, method: str, path: str) -> str:
            await asyncio.sleep(5)
            return ""

    monkeypatch.setattr(client_module, "RATE_LIMITS_TIMEOUT", 0.05)
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    gw = web_client("https://grok.test", http, SlowSigner())
    with pytest.raises(UpstreamTimeoutError):
        await gw.rate_limits(ACCT, "auto")


# --- the model ----------------------------------------------------------------------------


def test_body() -> None:
    assert rate_limits_body("fast") == {"modelName": "fast"}


def test_full_answer_ignores_extra_fields() -> None:
    limits = parse_rate_limits(
        b'{"windowSizeSeconds":86400,"remainingQueries":12,"totalQueries":30,'
        b'"lowEffortRateLimits":null,"highEffortRateLimits":{"x":1},"somethingNew":true}'
    )
    assert limits == RateLimits(window_size_seconds=86400, remaining_queries=12, total_queries=30)
    assert limits.has_data


def test_missing_fields() -> None:
    limits = parse_rate_limits("{}")
    assert limits.window_size_seconds == DEFAULT_WINDOW_SECONDS == 7200
    assert limits.remaining_queries is None and limits.total_queries is None
    assert not limits.has_data
    assert parse_rate_limits('{"windowSizeSeconds":null}').window_size_seconds == 7200
    for window in ("0", '"-5"', "Infinity", "NaN"):
        raw = '{"windowSizeSeconds": ' + window + "}"
        assert parse_rate_limits(raw).window_size_seconds == 7200, window
    assert parse_rate_limits('{"windowSizeSeconds":"60"}').window_size_seconds == 60


def test_older_token_fields_are_fallbacks() -> None:
    old = parse_rate_limits('{"remainingTokens":40,"totalTokens":80}')
    assert (old.remaining_queries, old.total_queries) == (40, 80)
    both = parse_rate_limits(
        '{"remainingQueries":1,"totalQueries":2,"remainingTokens":40,"totalTokens":80}'
    )
    assert (both.remaining_queries, both.total_queries) == (1, 2)
    nulls = parse_rate_limits('{"remainingQueries":null,"remainingTokens":5}')
    assert nulls.remaining_queries == 5


def test_negative_counts_read_as_zero() -> None:
    limits = parse_rate_limits('{"remainingQueries":-3,"totalQueries":50}')
    assert limits.remaining_queries == 0


@pytest.mark.parametrize("raw", ["", "null", "[]", '"text"', '{"totalQueries":"many"}'])
def test_unusable_answers_raise_value_error(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_rate_limits(raw)


# --- waitTimeSeconds (an exhausted mode; docs/grok-protocol.md §8.1) ----------------------


async def test_an_exhausted_mode_carries_its_wait(sim: Sim, gw: GrokWebClient) -> None:
    token = TOKENS["basic"]
    sim.state.set_remaining(token, "fast", 0, reset_in=12600)
    limits = await gw.rate_limits(account(token), "fast")
    assert (limits.remaining_queries, limits.total_queries) == (0, 30)
    assert limits.window_size_seconds == 86400 and limits.wait_time_seconds == 12600
    assert (await gw.rate_limits(account(TOKENS["super"]), "auto")).wait_time_seconds is None


def test_wait_time_seconds() -> None:
    raw = '{"windowSizeSeconds":86400,"remainingQueries":0,"totalQueries":30,"waitTimeSeconds":'
    assert parse_rate_limits(raw + "12600}").wait_time_seconds == 12600
    assert parse_rate_limits(raw + '"12600.5"}').wait_time_seconds == 12600.5
    assert parse_rate_limits(raw + "0}").wait_time_seconds == 0
    for unusable in ("null", "-1", '"soon"', "true", "[]", "{}", "1e999"):
        limits = parse_rate_limits(raw + unusable + "}")  # the rest of the answer still counts
        assert limits.wait_time_seconds is None, unusable
        assert (limits.remaining_queries, limits.total_queries) == (0, 30)
    assert parse_rate_limits('{"remainingQueries":3}').wait_time_seconds is None


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.lists(st.integers(), max_size=2),
    )
)
def test_any_wait_value_parses_to_a_usable_wait_or_none(value: object) -> None:
    raw = json.dumps({"remainingQueries": 0, "totalQueries": 30, "waitTimeSeconds": value})
    wait = parse_rate_limits(raw).wait_time_seconds
    assert wait is None or (math.isfinite(wait) and wait >= 0)
