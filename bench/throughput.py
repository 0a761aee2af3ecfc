"""Stream relay throughput of one grokgate process: chunks per second, CPU per chunk, peak RSS.

    .venv/bin/python bench/throughput.py [--words 2000] [--concurrency 1 16 64]
                                         [--streams 64] [--path xai web]

Starts the fake xAI API and the grok.com simulator (no token delay: they send as fast as they
can) and ``grokgate serve`` in front of them, each in its own process on loopback. For each
concurrency C it runs ``--streams`` long streamed chat completions (an echo of ``--words``
words: one content chunk per word), C at a time, and prints:

- chunks/s: content chunks the clients received per second of wall time, all streams together;
- direct chunks/s: the same load straight against the upstream (the ceiling the upstream
  process and this client allow on the same cores);
- gateway CPU: grokgate's user+system CPU seconds over the run (``/proc/<pid>/stat``), and
  chunks per CPU second, which is what one process can relay when it has a core to itself;
- peak RSS: grokgate's high-water resident memory (``VmHWM``) after the run.

Everything shares the machine's cores (client, upstream, gateway), so wall-time chunks/s is a
floor; the CPU figure is the one to size instances with.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from procs import (  # bench/ is on sys.path: the script's own directory
    BENCH_API_KEY,
    BENCH_XAI_KEY,
    Server,
    Servers,
    Timing,
    grok_web_chat,
    loopback_client,
    openai_chat,
    start_grokgate,
    start_upstreams,
)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(server: Server) -> float:
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


async def run(
    call: Caller, streams: int, concurrency: int, words: int
) -> tuple[float, int, list[Timing]]:
    prompt = " ".join(f"w{i}" for i in range(words))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(streams):
        queue.put_nowait(n)
    timings: list[Timing] = []

    async with loopback_client(concurrency) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                timings.append(await call(client, prompt))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return wall, sum(t.chunks for t in timings), timings


Caller = Callable[[httpx.AsyncClient, str], Awaitable[Timing]]


def streamed_chat(base: str, key: str, model: str) -> Caller:
    """A caller that streams an OpenAI chat completion of ``prompt`` from ``base``."""

    async def call(client: httpx.AsyncClient, prompt: str) -> Timing:
        messages = [{"role": "user", "content": prompt}]
        body = {"model": model, "stream": True, "messages": messages}
        return await openai_chat(client, f"{base}/v1/chat/completions", key, body)

    return call


def callers(path: str, xai: Server, sim: Server, gateway: Server) -> tuple[Caller, Caller]:
    """(direct, through grokgate) stream callers for one upstream path."""
    if path == "xai":
        direct = streamed_chat(xai.url, BENCH_XAI_KEY, "grok-4")
        return direct, streamed_chat(gateway.url, BENCH_API_KEY, "grok-4")

    async def web(client: httpx.AsyncClient, prompt: str) -> Timing:
        return await grok_web_chat(client, sim.url, prompt, "fast")

    return web, streamed_chat(gateway.url, BENCH_API_KEY, "grok-4.20-fast")


async def main(args: argparse.Namespace) -> None:
    with Servers() as servers:
        xai, sim = start_upstreams(servers, token_delay=0.0)
        # as many requests in flight per xAI key / account as the highest concurrency
        gateway = start_grokgate(
            servers,
            xai,
            sim,
            GROKGATE_XAI_MAX_INFLIGHT=str(max(args.concurrency)),
            GROKGATE_LOG_LEVEL="WARNING",
        )
        print(
            f"# throughput: {args.streams} streams of {args.words} words per row, "
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, client + upstream + "
            "gateway on the same cores\n"
        )
        print(
            "| path | concurrency | chunks/s | direct chunks/s | gateway CPU s | "
            "chunks per CPU s | p50 stream s | peak RSS MiB |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for path in args.path:
            direct, through = callers(path, xai, sim, gateway)
            await run(through, 4, 4, 50)  # warm up: connections, pool, imports
            for concurrency in args.concurrency:
                streams = max(args.streams, concurrency)
                d_wall, d_chunks, _ = await run(direct, streams, concurrency, args.words)
                cpu_before = cpu_seconds(gateway)
                wall, chunks, timings = await run(through, streams, concurrency, args.words)
                cpu = cpu_seconds(gateway) - cpu_before
                expected = streams * args.words
                if chunks < expected:
                    raise SystemExit(f"lost chunks: {chunks} of {expected} through grokgate")
                p50 = sorted(t.total for t in timings)[len(timings) // 2]
                print(
                    f"| {path} | {concurrency} | {chunks / wall:,.0f} | {d_chunks / d_wall:,.0f} "
                    f"| {cpu:.2f} | {chunks / cpu:,.0f} | {p50:.2f} | "
                    f"{gateway.peak_rss_mb():.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=2000, help="content chunks per stream")
    parser.add_argument("--streams", type=int, default=64, help="streams per row (at least C)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--path", nargs="+", choices=["xai", "web"], default=["xai", "web"])
    asyncio.run(main(parser.parse_args()))
