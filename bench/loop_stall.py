"""Does a big request stall everyone else? ``/health`` latency while big conversations are served.

    .venv/bin/python bench/loop_stall.py [--mb 15] [--rounds 3]

Starts the grok.com simulator, the fake xAI API and ``grokgate serve`` (API key, SQLite pool,
REST chat) in their own processes, then posts a legal conversation of about ``--mb`` MB
(1,900 turns of ~8 KB), and one of a third of that, to ``/v1/messages/count_tokens``
``--rounds`` times each, one at a time, while a separate probe
process asks ``/health`` every 2 ms. The probe runs in its own interpreter so that the poster's
work does not hold its GIL. The first row is the probe with no load on the gateway: the rows
below it are read against it. The big body's parse, translation and token count run in worker
threads; what is left on the event loop is the GIL those threads hold between switches.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import httpx
from procs import BENCH_API_KEY, Servers, percentile, start_grokgate, start_upstreams

PROBE = r"""
import json, select, sys, time, httpx
base = sys.argv[1]
seen = []
with httpx.Client(timeout=60, trust_env=False) as client:
    client.get(base + "/health")
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0)[0]:
        start = time.perf_counter()
        assert client.get(base + "/health").status_code == 200
        seen.append(time.perf_counter() - start)
        time.sleep(0.002)
print(json.dumps(seen), flush=True)
"""

HEADERS = {  # Anthropic's count_tokens
    "Authorization": f"Bearer {BENCH_API_KEY}",
    "content-type": "application/json",
    "anthropic-version": "2023-06-01",
}


def conversation(megabytes: float) -> list[dict[str, str]]:
    words = " ".join(f"w{i} lorem ipsum dolor" for i in range(400))[:8192]
    turns = max(2, int(megabytes * 1_000_000 / 8200)) | 1  # odd: it ends on a user turn
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} {words}"}
        for i in range(turns)
    ]


def bodies(megabytes: float) -> dict[str, bytes]:
    """``count_tokens`` bodies of a third of ``megabytes`` and of all of it: the gateway's whole
    CPU path (parse, validation, translation, token count) with no upstream call. The chat
    routes do the same work before their upstream call; the simulator answers a conversation
    this big too slowly to bench them here."""
    model = "grok-4.20-fast"
    return {
        f"count_tokens {size:g} MB": json.dumps(
            {"model": model, "messages": conversation(size)}
        ).encode()
        for size in (megabytes / 3, megabytes)
    }


def probe_while(base: str, work: Any) -> tuple[list[float], Any]:
    """``/health`` latencies (s) sampled by a child process while ``work()`` runs."""
    child = subprocess.Popen(
        [sys.executable, "-c", PROBE, base],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    result = work()
    time.sleep(0.05)
    child.stdin.write("stop\n")
    child.stdin.flush()
    seen: list[float] = json.loads(child.stdout.readline())
    child.wait(timeout=30)
    return seen, result


def row(name: str, seen: list[float], took: float | None, note: str = "") -> str:
    ms = [s * 1000 for s in seen]
    took_text = f"{took * 1000:8.0f}" if took is not None else f"{'-':>8}"
    return (
        f"{name:<28} {took_text} {len(ms):>7} {percentile(ms, 0.5):>7.1f} "
        f"{percentile(ms, 0.99):>7.1f} {max(ms):>7.1f}  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=15.0, help="body size, MB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    payloads = bodies(args.mb)
    with Servers() as servers:
        xai, sim = start_upstreams(servers, token_delay=0.001)
        gateway = start_grokgate(servers, xai, sim)
        base = gateway.url
        with httpx.Client(timeout=300, trust_env=False) as client:
            url = f"{base}/v1/messages/count_tokens"
            for raw in payloads.values():  # warm-up: lazy routes, tokenizer
                client.post(url, content=raw, headers=HEADERS).raise_for_status()
            print(
                f"{'request':<28} {'ms/req':>8} {'samples':>7} {'p50 ms':>7} {'p99 ms':>7} "
                f"{'max ms':>7}  (/health latency)"
            )
            idle, _ = probe_while(base, lambda: time.sleep(1.5))
            print(row("(no load)", idle, None))
            for name, raw in payloads.items():

                def post(raw: bytes = raw) -> float:
                    start = time.perf_counter()
                    for _ in range(args.rounds):
                        reply = client.post(url, content=raw, headers=HEADERS)
                        reply.raise_for_status()
                    return (time.perf_counter() - start) / args.rounds

                seen, took = probe_while(base, post)
                worst = max(seen) / max(idle)
                print(row(name, seen, took, f"max {worst:.1f}x no load"))
        print(f"gateway peak RSS {gateway.peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
