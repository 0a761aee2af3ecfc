"""Gateway overhead, side by side with LiteLLM's proxy, against the same upstream.

    .venv/bin/python bench/overhead.py [--requests 200] [--warmup 20] [--token-delay 0.005]
                                       [--skip-litellm] [--litellm-spec 'litellm[proxy]']

Starts, each in its own process on loopback: the fake xAI API (OpenAI-shaped, one content token
every ``--token-delay`` seconds), the grok.com simulator (same cadence), ``grokgate serve`` in
front of both (API key auth, SQLite pool, default logging) and LiteLLM's proxy (installed from
PyPI into its own venv on first run, cached in ``~/.cache/grokgate-bench``; a master key, the
fake xAI API as an ``openai/`` deployment, default logging). Then, in each round, the same
chat completion is sent directly to the upstream, through grokgate and through LiteLLM, in a
random order, streamed and not streamed; and a grok.com web chat is sent directly to the
simulator (same headers, cookies and in-process signing grokgate uses) and through grokgate.

"Added" latency is per round: the proxied request's time minus the direct request's time in
the same round, for time to first token (TTFT, streams) and total time. The table prints its
p50 / p95 / p99 and LiteLLM's added p50 over grokgate's. One request at a time: overhead, not
throughput (see ``throughput.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from procs import (  # bench/ is on sys.path: the script's own directory
    BENCH_API_KEY,
    BENCH_XAI_KEY,
    Server,
    Servers,
    Timing,
    free_port,
    grok_web_chat,
    loopback_client,
    openai_chat,
    percentile,
    start_grokgate,
    start_upstreams,
)

LITELLM_KEY = "sk-litellm-bench-master"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "grokgate-bench"
PROMPT = "alpha beta gamma delta epsilon zeta eta theta iota kappa"  # 10 words: 12 tokens
WEB_MODEL, WEB_MODE = "grok-4.20-fast", "fast"
ORDER = ["direct", "grokgate", "litellm"]


def ensure_litellm(spec: str, venv: Path) -> tuple[Path, str]:
    """LiteLLM's CLI from its own venv (created and installed from PyPI when missing)."""
    binary = venv / "bin" / "litellm"
    if not binary.exists():
        print(f"installing {spec} into {venv} (first run only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, spec], check=True)
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m;"
         "print(m.version('litellm'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return binary, version


def start_litellm(servers: Servers, binary: Path, upstream: Server) -> Server:
    config = servers.dir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: grok-4\n"
        "    litellm_params:\n"
        "      model: openai/grok-4\n"
        f"      api_base: {upstream.url}/v1\n"
        f"      api_key: {BENCH_XAI_KEY}\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n"
    )
    port = free_port()
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch from GitHub at start
        "LITELLM_TELEMETRY": "False",
        "NO_PROXY": "*",
    }
    return servers.start(
        "litellm",
        [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        env=env,
        health="/health/liveliness",
        timeout=300,
    )


Target = Callable[[httpx.AsyncClient, bool], Awaitable[Timing]]


def openai_target(base: str, key: str, model: str) -> Target:
    async def call(client: httpx.AsyncClient, stream: bool) -> Timing:
        body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
        if stream:
            body["stream"] = True
        return await openai_chat(client, f"{base}/v1/chat/completions", key, body)

    return call


def web_direct(base: str) -> Target:
    async def call(client: httpx.AsyncClient, stream: bool) -> Timing:
        return await grok_web_chat(client, base, PROMPT, WEB_MODE)

    return call


async def run_rounds(
    targets: dict[str, Target], rounds: int, warmup: int, stream: bool
) -> dict[str, list[Timing]]:
    results: dict[str, list[Timing]] = defaultdict(list)
    async with loopback_client() as client:
        for n in range(warmup + rounds):
            order = list(targets)
            random.shuffle(order)
            for name in order:
                timing = await targets[name](client, stream)
                if n >= warmup:
                    results[name].append(timing)
    return results


def check_answers(results: dict[str, list[Timing]]) -> None:
    """Every path must have answered the same text: a fast wrong answer is not overhead."""
    texts = {name: {t.text for t in timings} for name, timings in results.items()}
    distinct = set().union(*texts.values())
    if len(distinct) != 1:
        raise SystemExit(f"the paths answered differently: {texts}")


def added(results: dict[str, list[Timing]], name: str, metric: str) -> list[float]:
    direct = results["direct"]
    proxied = results[name]
    pairs = zip(proxied, direct, strict=True)
    return [(getattr(p, metric) - getattr(d, metric)) * 1000 for p, d in pairs]


def row(label: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
    return f"| {label} | {p50:.2f} | {p95:.2f} | {p99:.2f} |"


def report(title: str, results: dict[str, list[Timing]], stream: bool) -> dict[str, float]:
    metrics = ["ttft", "total"] if stream else ["total"]
    results = {name: results[name] for name in sorted(results, key=ORDER.index)}
    print(f"\n### {title}\n")
    print("| path | p50 | p95 | p99 |  (absolute, ms)")
    print("|---|---|---|---|")
    for name, timings in results.items():
        for metric in metrics:
            print(row(f"{name} {metric}", [getattr(t, metric) * 1000 for t in timings]))
    print("\n| added by | p50 | p95 | p99 |  (ms, proxied minus direct in the same round)")
    print("|---|---|---|---|")
    medians: dict[str, float] = {}
    for name in results:
        if name == "direct":
            continue
        for metric in metrics:
            values = added(results, name, metric)
            print(row(f"{name} {metric}", values))
            medians[f"{name} {metric}"] = percentile(values, 0.5)
    return medians


def ratios(medians: dict[str, float]) -> None:
    for key, value in medians.items():
        if not key.startswith("litellm "):
            continue
        ours = medians[key.replace("litellm", "grokgate", 1)]
        metric = key.split(" ", 1)[1]
        verdict = "grokgate lower" if ours < value else "LiteLLM lower"
        ratio = value / ours if ours > 0 else float("inf")
        print(
            f"- {metric}: LiteLLM adds {value:.2f} ms at p50, grokgate {ours:.2f} ms: "
            f"x{ratio:.1f} ({verdict})"
        )


async def main(args: argparse.Namespace) -> None:
    random.seed(args.seed)
    with Servers() as servers:
        xai, sim = start_upstreams(servers, args.token_delay)
        grokgate = start_grokgate(servers, xai, sim)
        targets: dict[str, Target] = {
            "direct": openai_target(xai.url, BENCH_XAI_KEY, "grok-4"),
            "grokgate": openai_target(grokgate.url, BENCH_API_KEY, "grok-4"),
        }
        version = None
        if not args.skip_litellm:
            binary, version = ensure_litellm(args.litellm_spec, args.litellm_venv)
            litellm = start_litellm(servers, binary, xai)
            targets["litellm"] = openai_target(litellm.url, LITELLM_KEY, "grok-4")
        print(
            f"# overhead: {args.requests} rounds (+{args.warmup} warm-up), one request at a "
            f"time, token every {args.token_delay * 1000:g} ms, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cores" + (f", LiteLLM {version}" if version else "")
        )
        medians: dict[str, float] = {}
        for stream in (True, False):
            results = await run_rounds(targets, args.requests, args.warmup, stream)
            check_answers(results)
            kind = "streamed" if stream else "non-stream"
            found = report(f"xAI API path, {kind}", results, stream)
            medians.update({f"{k} ({kind})": v for k, v in found.items()})
        if not args.skip_litellm:
            print("\n### LiteLLM's added p50 over grokgate's (same run)\n")
            ratios(medians)
        web = {
            "direct": web_direct(sim.url),
            "grokgate": openai_target(grokgate.url, BENCH_API_KEY, WEB_MODEL),
        }
        results = await run_rounds(web, args.requests, args.warmup, stream=True)
        print("\nweb answers (the simulator hashes the message as sent; grokgate formats it):")
        for name in ORDER:
            if name in results:
                print(f"- {name}: {sorted({t.text for t in results[name]})}")
        report("grok.com web path (simulator), streamed", results, True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="measured rounds per table")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--token-delay", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--litellm-spec", default="litellm[proxy]")
    parser.add_argument("--litellm-venv", type=Path, default=CACHE / "litellm-venv")
    asyncio.run(main(parser.parse_args()))
