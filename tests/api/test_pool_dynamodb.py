"""The pool on DynamoDB (moto over real HTTP) behind the live server, driven by the openai SDK.

The hot path must cost at most two DynamoDB writes per chat request (lease, release with its
feedback) and no scan; botocore's event hooks count every call the gateway's client makes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from grokgate.api.app import create_app
from grokgate.runtime import Runtime
from grokgate.simulator.server import ServerThread
from grokgate.stores.dynamodb import DynamoAccountStore
from grokgate.stores.records import Status, Tier, account_id_for
from tests.conftest import gateway_settings
from tests.support import ALL_TOKENS, API_KEY, CallCounter, Sim, aws_client, new_dynamodb_table

SUPER = [t for t in ALL_TOKENS if "super" in t]
MSG = [{"role": "user", "content": "count my writes"}]
MODEL = "grok-4.20-0309-reasoning"  # expert: super accounts


@pytest.fixture
def dynamo_gateway(
    sim: Sim, moto_endpoint: str, tmp_path: Path
) -> Iterator[tuple[str, CallCounter, DynamoAccountStore]]:
    table = new_dynamodb_table(moto_endpoint)
    client = aws_client("dynamodb", moto_endpoint)
    store = DynamoAccountStore(table, client)
    settings = gateway_settings(
        sim.url,
        tmp_path / "gw",
        sso_tokens="",
        store="dynamodb",
        dynamodb_table=table,
        pool_snapshot_seconds=3600,  # the snapshot never goes stale during the test
        quota_sync_seconds=3600,
    )
    runtime = Runtime(settings, store=store)
    server = ServerThread(create_app(settings=settings, runtime=runtime))
    counter = CallCounter(client)
    yield server.start(), counter, store
    server.stop()


async def test_two_writes_and_no_scan_per_chat_request(
    dynamo_gateway: tuple[str, CallCounter, DynamoAccountStore],
) -> None:
    url, counter, store = dynamo_gateway
    for token in SUPER:
        await store.add_account(token, Tier.SUPER)
    counter.calls.clear()  # count the gateway's calls only
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0, timeout=20)
    for _ in SUPER:  # warm-up: loads the snapshot, and uses each account once
        client.chat.completions.create(model=MODEL, messages=MSG)
    warm = counter.settle()
    # One scan: this instance's snapshot. Per warm-up request a lease and a release, and per
    # account one background quota sync after its first use (then not for quota_sync_seconds).
    # One read: the shared x-statsig-id pair (then at most once per 5 s per instance).
    assert warm == Counter({"Scan": 1, "UpdateItem": 3 * len(SUPER), "GetItem": 1})
    started = time.monotonic()

    requests = 6
    for n in range(requests):
        if n % 2:
            out = client.chat.completions.create(model=MODEL, messages=MSG)
            assert out.choices[0].message.content
        else:
            stream = client.chat.completions.create(model=MODEL, messages=MSG, stream=True)
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    calls = counter.settle() - warm
    pair_reads = calls.pop("GetItem", 0)
    assert pair_reads <= 1 + (time.monotonic() - started) / 5  # time-driven, not per request
    assert calls == Counter({"UpdateItem": 2 * requests})  # lease + release; no read, no scan

    accounts = await store.list_accounts()
    assert sum(a.use_count for a in accounts) == requests + len(SUPER)
    assert all(a.inflight == 0 for a in accounts)
    assert all(a.quotas["expert"].source == "upstream" for a in accounts)  # synced from grok


async def test_a_401_account_is_expired_in_the_shared_table(
    dynamo_gateway: tuple[str, CallCounter, DynamoAccountStore], sim: Sim
) -> None:
    url, counter, store = dynamo_gateway
    for token in SUPER:
        await store.add_account(token, Tier.SUPER)
    bad = min(SUPER, key=account_id_for)  # ties are broken by id: picked first
    sim.state.inject(bad, "401")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0, timeout=20)
    for _ in range(3):
        assert client.chat.completions.create(model=MODEL, messages=MSG).choices
    tokens = [r.token for r in sim.state.chat_requests()]
    assert tokens.count(bad) == 1 and len(tokens) == 4
    expired = await store.get_account(account_id_for(bad))
    assert expired is not None and expired.status is Status.EXPIRED
    assert expired.last_error and bad not in expired.last_error
    assert counter.settle()["Scan"] == 1
