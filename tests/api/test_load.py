"""A bounded load test through the live server (issue 10): 500 requests at concurrency 50.

The mix: OpenAI chat completions and Anthropic messages, streamed and not, grok.com web models
of every mode (fast, auto, expert, heavy; cheapest and best tier first) and xAI models, while
429s (with and without Retry-After) are queued on some accounts and keys as the run goes. The
same load runs once more, smaller, on the DynamoDB pool (moto).

A few streaming clients go away after their first content chunk. At the end: every other
request got a complete 200 (this request's answer) or a clean error in its API's format (429
with Retry-After, 503 / Anthropic 529 when no account is free); no lease is left; and what the
pool counted agrees with what the upstreams served (see :func:`check_pool`).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from grokgate.api.app import create_app
from grokgate.runtime import Runtime
from grokgate.simulator.server import ServerThread
from grokgate.simulator.xai_state import XaiRecord
from grokgate.stores.dynamodb import DynamoAccountStore
from grokgate.stores.records import Account, AccountKind, QuotaSource, Status, Tier
from tests.api.xai import conftest as xai_fixtures
from tests.api.xai.conftest import KEYS, Xai
from tests.conftest import gateway_settings
from tests.support import ACCOUNTS, API_KEY, GatewayFactory, Sim, aws_client, new_dynamodb_table

xai_server = xai_fixtures.xai_server  # the fake xAI API, as the xAI tests have it
xai = xai_fixtures.xai

EXTRA = (
    ("super", "sso-load-super-3-eyJhbGciOiJIUzI1NiJ9"),
    ("heavy", "sso-load-heavy-2-eyJhbGciOiJIUzI1NiJ9"),
)
POOL = (*ACCOUNTS, *EXTRA)
SUPER_1, SUPER_2, HEAVY_1, BASIC_1, SUPER_3, HEAVY_2 = (token for _, token in POOL)
XAI_1, XAI_2 = KEYS
CLEAN = frozenset({SUPER_2, BASIC_1, HEAVY_2})  # never given a fault: their counts are exact

WEB_MODELS = {  # model → weight in the mix
    "grok-4.20-0309-non-reasoning": 20,  # fast, basic first
    "grok-4.20-0309": 20,  # auto (falls back to fast, then expert), super first
    "grok-4.20-0309-reasoning": 15,  # expert
    "grok-4.20-heavy": 10,  # heavy mode: 20 per heavy account, spent during the run
    "grok-4.20-fast": 10,  # fast, heavy first
}
XAI_MODELS = {"grok-4": 15, "grok-4-fast-non-reasoning": 10}
CALL_TIMEOUT = 30.0  # one request
SETTLE_SECONDS = 10.0  # releases land after the last byte; background refreshes too
RUN_BOUND = 45.0  # one whole run
Reader = Callable[[], Awaitable[list[Account]]]  # the pool as stored


@dataclass(frozen=True)
class Fault:  # a 429 queued on ``target`` once the run has picked ``at`` of its requests
    at: float
    target: str
    retry_after: int | None
    times: int


FAULTS = (
    Fault(0.0, SUPER_1, 1, 2),
    Fault(0.0, HEAVY_1, None, 1),  # no Retry-After: the window rests for cooldown_seconds
    Fault(0.0, XAI_1, 1, 2),
    Fault(0.3, SUPER_3, 2, 2),
    Fault(0.5, XAI_1, 2, 1),  # both keys limited at once: the pool itself answers 429 ...
    Fault(0.5, XAI_2, None, 1),  # ... for a while (XAI_2 rests for cooldown_seconds)
    Fault(0.6, SUPER_1, None, 1),
    Fault(0.6, HEAVY_1, 1, 2),
    Fault(0.8, XAI_1, 1, 1),
)


@dataclass(frozen=True)
class Call:
    n: int
    api: str  # "openai" | "anthropic"
    model: str
    stream: bool
    abort: bool = False  # the client goes away after the first content chunk

    @property
    def tag(self) -> str:
        return f"load-{self.n}"

    @property
    def is_xai(self) -> bool:
        return self.model in XAI_MODELS


def plan(total: int) -> list[Call]:
    """The requests, in the order they are sent (the same every run)."""
    rng = random.Random(10)
    models = {**WEB_MODELS, **XAI_MODELS}
    names, weights = list(models), list(models.values())
    calls = []
    for n in range(total):
        api = rng.choice(("openai", "openai", "anthropic"))
        model, stream = rng.choices(names, weights)[0], rng.random() < 0.5
        calls.append(Call(n, api, model, stream, abort=stream and rng.random() < 0.1))
    return calls


async def send(client: httpx.AsyncClient, call: Call) -> str:
    """Send ``call``; its outcome once its answer is checked (an AssertionError if it is bad):
    the status, or "gone" when the client went away after the first content chunk."""
    messages = [{"role": "user", "content": f"{call.tag} under load"}]
    body: dict[str, Any] = {"model": call.model, "messages": messages, "stream": call.stream}
    path = "/v1/chat/completions" if call.api == "openai" else "/v1/messages"
    if call.api == "anthropic":
        body["max_tokens"] = 256
    async with client.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            check_error(call, response, await response.aread())
            return str(response.status_code)
        if call.abort:
            async for line in response.aiter_lines():
                if '"content"' in line or "text_delta" in line:
                    return "gone"  # leaving the block closes the connection
            raise AssertionError("the stream ended before its first content chunk")
        if call.stream:
            lines = [line async for line in response.aiter_lines()]
            text = _openai_stream(lines) if call.api == "openai" else _anthropic_stream(lines)
        else:
            text = _body(call.api, json.loads(await response.aread()))
        assert call.tag in text, f"not this request's answer: {text[:80]!r}"
        return "200"


def check_error(call: Call, response: httpx.Response, raw: bytes) -> None:
    """A clean refusal: an expected status, a Retry-After, the API's error body."""
    status = response.status_code
    busy = 503 if call.api == "openai" else 529  # Anthropic's "overloaded"
    assert status in (429, busy), f"unexpected status {status}: {raw[:300]!r}"
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, f"{status}: no Retry-After"
    body = json.loads(raw)
    if call.api == "openai":
        kind = "rate_limit_error" if status == 429 else "server_error"
    else:
        assert body["type"] == "error", body
        kind = "rate_limit_error" if status == 429 else "overloaded_error"
    assert body["error"]["type"] == kind and body["error"]["message"], body


def _body(api: str, out: dict[str, Any]) -> str:
    if api == "openai":
        assert out["choices"][0]["finish_reason"], out
        return str(out["choices"][0]["message"]["content"] or "")
    assert out["type"] == "message" and out["stop_reason"], out
    return "".join(b["text"] for b in out["content"] if b["type"] == "text")


def _openai_stream(lines: list[str]) -> str:
    data = [line[5:].strip() for line in lines if line.startswith("data:")]
    assert data and data[-1] == "[DONE]", f"no [DONE] at the end: {data[-2:]}"
    text, finished = [], False
    for chunk in map(json.loads, data[:-1]):
        assert "error" not in chunk, chunk
        for choice in chunk.get("choices") or ():
            text.append(choice["delta"].get("content") or "")
            finished = finished or bool(choice.get("finish_reason"))
    assert finished, "no finish_reason in the stream"
    return "".join(text)


def _anthropic_stream(lines: list[str]) -> str:
    events = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    types = [event["type"] for event in events]
    assert "error" not in types and types and types[-1] == "message_stop", events[-2:]
    assert any(e["delta"].get("stop_reason") for e in events if e["type"] == "message_delta")
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    return "".join(d.get("text", "") for d in deltas if d["type"] == "text_delta")


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)  # "200", "429", ..., "gone"
    ok: Counter[str] = field(default_factory=Counter)  # complete 200s, per upstream
    gone: Counter[str] = field(default_factory=Counter)  # 200s left by their client, per upstream
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = " ".join(f"{outcome}={n}" for outcome, n in sorted(self.outcomes.items()))
        return f"{counts} bad={len(self.problems)} (200s {dict(self.ok)}, gone {dict(self.gone)})"


async def run_load(url: str, calls: list[Call], concurrency: int, sim: Sim, fake: Xai) -> Tally:
    """Send ``calls`` with ``concurrency`` workers, queuing each fault when its turn comes."""
    tally = Tally()
    due: dict[int, list[Fault]] = {}
    for fault in FAULTS:
        due.setdefault(round(fault.at * len(calls)), []).append(fault)
    todo = iter(calls)  # shared by the workers (one event loop: no lock needed)
    headers = {"authorization": f"Bearer {API_KEY}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        for call in todo:
            for f in due.pop(call.n, ()):
                faults = fake.state if f.target in KEYS else sim.state
                faults.inject(f.target, "429", retry_after=f.retry_after, times=f.times)
            try:
                outcome = await asyncio.wait_for(send(client, call), CALL_TIMEOUT)
            except Exception as exc:  # a transport error, a hang, or a bad answer
                tally.problems.append(f"#{call.n} {call}: {type(exc).__name__}: {exc}")
                continue
            tally.outcomes[outcome] += 1
            if (bucket := {"200": tally.ok, "gone": tally.gone}.get(outcome)) is not None:
                bucket["xai" if call.is_xai else "web"] += 1

    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=CALL_TIMEOUT, limits=limits
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return tally


async def settled(read: Reader) -> dict[str, Account]:
    """The pool once no lease is held and two reads a moment apart agree (or the last read,
    if that does not happen within ``SETTLE_SECONDS``: the checks then say what is wrong)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last = {a.token.get_secret_value(): a for a in await read()}
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = {a.token.get_secret_value(): a for a in await read()}
        if now == last and not any(a.leases for a in now.values()):
            break
        last = now
    return last


def check_pool(pool: dict[str, Account], sim: Sim, fake: Xai, tally: Tally) -> None:
    """The invariants on the pool after the load.

    * Every account: no lease held (inflight 0), active, not cooling down.
    * Served == answered: the queries grok.com served (the simulator's total - remaining, over
      accounts and modes) == the web 200s, complete or left by their client; the same for the
      requests the xAI fake answered 200 and the xAI 200s.
    * ``use_count`` (successes) of each account <= what its upstream served it, and summed
      over the accounts of an upstream, >= its complete 200s: the difference is answers
      whose client went away (an abandoned answer teaches the pool nothing).
    * Quotas, per web account and mode, P = what the pool says remains, S = what the
      simulator says remains. An account never given a fault never had its numbers re-read
      (source ``default``) and P == S exactly: the pool counted each query grok.com served
      once, and no other (and it never sent grok.com a query it had no quota for). An account
      that was given 429s has its windows spent by a 429 until Retry-After (P == 0, S is
      unknown to the pool), or re-read / assumed refilled, which can only forget queries in
      flight or before the window's end: P >= S (never a query counted twice).
    """
    assert set(pool) == {token for _, token in POOL} | set(KEYS)
    for account in pool.values():
        assert account.leases == {} and account.inflight == 0, f"{account.id}: leases left"
        assert account.status is Status.ACTIVE and account.cooldown_until == 0.0
    now = time.time()
    served: Counter[str] = Counter()  # per token or key
    for _, token in POOL:
        account = pool[token]
        for mode in sim.state.accounts[token].totals:
            stored = account.quotas[mode]
            _, remaining, total = sim.state.quota(token, mode)
            served[token] += total - remaining
            where = f"{account.id} ({account.tier}) {mode}: pool {stored}, simulator {remaining}"
            if token in CLEAN:
                assert stored.source is QuotaSource.DEFAULT, where
                assert stored.remaining == remaining, where
            else:
                held = stored.remaining == 0 and stored.reset_at > now
                assert held or stored.remaining_at(now) >= remaining, where
        if token in CLEAN:  # grok.com never refused it a query
            assert len(sim.state.chat_requests(token)) == served[token]
    for key in KEYS:
        answered = Counter(r.status for r in xai_chats(fake) if r.key == key)
        assert set(answered) <= {200, 429}, answered
        served[key] = answered[200]
    for upstream, members in (("web", [t for _, t in POOL]), ("xai", KEYS)):
        for member in members:
            account = pool[member]
            assert account.use_count <= served[member], f"{account.id}: {account.use_count}"
        total_served = sum(served[member] for member in members)
        assert total_served == tally.ok[upstream] + tally.gone[upstream], upstream
        used = sum(pool[member].use_count for member in members)
        assert tally.ok[upstream] <= used <= total_served, (upstream, used)


def xai_chats(fake: Xai) -> list[XaiRecord]:  # not /v1/models and the like
    return [r for r in fake.state.requests_for() if r.path.endswith(("/completions", "/messages"))]


def refusals(sim: Sim, fake: Xai) -> Counter[str]:
    """How many requests the upstreams refused (all with 429, as nothing else was injected)."""
    refused: Counter[str] = Counter()
    for _, token in POOL:
        modes = sim.state.accounts[token].totals
        served = sum(total - sim.state.quota(token, mode)[1] for mode, total in modes.items())
        refused["web"] += len(sim.state.chat_requests(token)) - served
    refused["xai"] = sum(1 for r in xai_chats(fake) if r.status == 429)
    return refused


async def load(
    name: str, url: str, read: Reader, sim: Sim, fake: Xai, size: tuple[int, int]
) -> None:
    """Run ``size`` (requests, concurrency), print a one-line summary, check the invariants."""
    (total, concurrency), started = size, time.monotonic()
    run = run_load(url, plan(total), concurrency, sim, fake)
    tally = await asyncio.wait_for(run, RUN_BOUND)  # no hang: every request ends in the bound
    elapsed = time.monotonic() - started
    pool = await settled(read)
    refused = refusals(sim, fake)
    print(
        f"\nload[{name}]: {total} requests, concurrency {concurrency}, {elapsed:.1f} s: "
        f"{tally.summary()}; upstream 429s: web {refused['web']}, xai {refused['xai']}"
    )
    assert tally.problems == [], "\n".join(tally.problems[:20])
    assert tally.outcomes.total() == total
    check_pool(pool, sim, fake, tally)
    assert refused["web"] >= 1 and refused["xai"] >= 2  # the injected 429s did happen
    assert tally.outcomes["429"] >= 1  # both xAI keys limited at once: a client waits
    assert tally.ok["web"] >= total // 4 and tally.ok["xai"] >= total // 20
    assert tally.gone.total() >= 1


@pytest.fixture
def load_sim(sim: Sim) -> Iterator[Sim]:
    """The simulator with two more accounts for the pool (removed after the test)."""
    for tier, token in EXTRA:
        sim.state.add_account(token, tier)
    yield sim
    for _, token in EXTRA:
        sim.state.accounts.pop(token, None)


def _settings(xai_fake: Xai) -> dict[str, object]:
    return {
        "xai_base_url": xai_fake.url,
        "xai_api_keys": ",".join(KEYS),
        "xai_ca_file": xai_fake.ca_file,
        # No re-read of a mode after each use: the pool's own count is what is checked against
        # the simulator (a read while requests are in flight returns a number they are about
        # to change). A 429 still triggers a full refresh of that account (once).
        "quota_sync_seconds": 0,
        "quota_refresh_seconds": 3600,
    }


async def test_load_on_the_sqlite_pool(
    make_gateway: GatewayFactory, load_sim: Sim, xai: Xai
) -> None:
    sso = ",".join(f"{tier}:{token}" for tier, token in POOL)
    gw = make_gateway(sso_tokens=sso, **_settings(xai))

    async def read() -> list[Account]:
        return list((await gw.accounts()).values())

    await load("sqlite", gw.url, read, load_sim, xai, size=(500, 50))


@pytest.fixture
def dynamo_gateway(
    load_sim: Sim, xai: Xai, moto_endpoint: str, tmp_path: Path
) -> Iterator[tuple[str, DynamoAccountStore]]:
    table = new_dynamodb_table(moto_endpoint)
    store = DynamoAccountStore(table, aws_client("dynamodb", moto_endpoint))
    settings = gateway_settings(
        load_sim.url,
        tmp_path / "gw",
        sso_tokens="",
        store="dynamodb",
        dynamodb_table=table,
        **_settings(xai),
    )
    server = ServerThread(create_app(settings=settings, runtime=Runtime(settings, store=store)))
    yield server.start(), store
    server.stop()


async def test_load_on_the_dynamodb_pool(
    dynamo_gateway: tuple[str, DynamoAccountStore], load_sim: Sim, xai: Xai
) -> None:
    url, store = dynamo_gateway
    for tier, token in POOL:
        await store.add_account(token, Tier(tier))
    for key in KEYS:
        await store.add_account(key, max_inflight=16, kind=AccountKind.XAI_API_KEY)
    await load("dynamodb", url, store.list_accounts, load_sim, xai, size=(200, 20))  # moto: slow
