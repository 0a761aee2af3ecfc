"""Lease latency: one pool lease + release (with feedback), as a chat request pays it.

    .venv/bin/python bench/lease_latency.py [--requests 400] [--concurrency 1 16]

Runs the real AccountPool over SQLite (a temp file, WAL) and over DynamoDB served by moto on
loopback (real HTTP + boto3), with 10 accounts, and prints p50 / p99 per backend and
concurrency, plus the store calls per request. Loopback only; needs the test extra (moto).
moto is slower than DynamoDB itself (a Python server): read its figures as our overhead plus
moto's, not as DynamoDB's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.registry import resolve
from grokgate.stores.base import AccountStore
from grokgate.stores.records import Tier

SPEC = resolve("grok-4.20-0309-non-reasoning")  # fast: every tier
ACCOUNTS = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(store: AccountStore, requests: int, concurrency: int) -> list[float]:
    pool = AccountPool(store, snapshot_seconds=5.0)
    for i in range(ACCOUNTS):
        await store.add_account(f"bench-token-{i:02d}-{time.time_ns()}", Tier.HEAVY)
    await pool.refresh()
    timings: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            account, lease = await pool.lease(SPEC)
            await pool.finish(account, lease)
            timings.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await pool.aclose()
    for account in await store.list_accounts():
        await store.remove_account(account.id)
    return timings


def report(name: str, concurrency: int, timings: list[float], calls: Counter[str] | None) -> None:
    ms = [t * 1000 for t in timings]
    line = (
        f"{name:9} c={concurrency:<3} n={len(ms):<5} p50 {statistics.median(ms):7.2f} ms  "
        f"p99 {percentile(ms, 0.99):7.2f} ms  max {max(ms):7.2f} ms"
    )
    if calls is not None:
        per = {op: round(n / len(ms), 2) for op, n in sorted(calls.items())}
        line += f"  calls/request {per}"
    print(line, flush=True)


async def run_backend(
    name: str, make: Callable[[], AccountStore], counter: Counter[str] | None, args: Any
) -> None:
    for concurrency in args.concurrency:
        store = make()
        try:
            await measure(store, min(50, args.requests), concurrency)  # warm-up
            if counter is not None:
                counter.clear()
            timings = await measure(store, args.requests, concurrency)
            calls = None
            if counter is not None:  # leave out the setup: adds, the refresh scan, removals
                calls = Counter({op: n for op, n in counter.items() if op == "UpdateItem"})
            report(name, concurrency, timings, calls)
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000:
        parser.error("--requests must be between 1 and 100000")

    from grokgate.stores.sqlite import SqliteAccountStore

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(run_backend("sqlite", lambda: SqliteAccountStore(path), None, args))

    import boto3
    from moto.server import ThreadedMotoServer

    from grokgate.stores.dynamodb import DynamoAccountStore, create_table

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        create_table(client, "grokgate-bench")
        counter: Counter[str] = Counter()
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: counter.update([model.name])
        )
        make = lambda: DynamoAccountStore("grokgate-bench", client)  # noqa: E731
        asyncio.run(run_backend("dynamodb", make, counter, args))
    finally:
        server.stop()


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    main()
