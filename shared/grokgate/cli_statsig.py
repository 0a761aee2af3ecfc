"""``grokgate statsig show|set|check|capture``: the x-statsig-id pair every instance signs with.

The pair lives in the store (:mod:`grokgate.upstream.grokweb.statsig_live`): ``set`` writes it
there, and every running instance picks it up within seconds. ``capture`` prints a snippet for
the browser console on grok.com whose output is the ready ``set`` command.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from grokgate.cli_accounts import Context, _err, run_with, store_options
from grokgate.cli_format import duration
from grokgate.errors import UpstreamError
from grokgate.stores.records import AccountKind, Status

if TYPE_CHECKING:
    from grokgate.upstream.grokweb.statsig_live import StatsigPair

CAPTURE = r"""(() => {
  const meta = document.querySelector('meta[name="grok-site-verification"]')?.content;
  if (!meta) return console.log("No grok-site-verification meta here: open https://grok.com/");
  const hex = (s) => [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  const seed = hex(atob(meta));
  let suffix = null, trailer = 3;
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  crypto.subtle.digest = (alg, data) => {
    try {
      const m = new TextDecoder().decode(data).match(/^[A-Z]+!\/[^!]*!\d+([\s\S]*)$/);
      if (m) suffix = m[1];
    } catch (e) {}
    return digest(alg, data);
  };
  const fetch0 = window.fetch;
  window.fetch = (input, init) => {
    try {
      const v = new Headers(init?.headers ?? input?.headers ?? {}).get("x-statsig-id");
      if (v) { const b = atob(v + "=".repeat((4 - v.length % 4) % 4));
               trailer = b.charCodeAt(69) ^ b.charCodeAt(0); }
    } catch (e) {}
    return fetch0(input, init);
  };
  window.grokgateStatsig = () => {
    if (suffix === null) return console.log("No signed request yet: switch models or reload.");
    const cmd = `grokgate statsig set 00${seed} '${suffix}' --trailer ${trailer}`;
    console.log(cmd);
    return cmd;
  };
  console.log("Switch the model picker (a signed call), then run grokgateStatsig()");
})();"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``statsig`` group to the top-level sub-parsers."""
    common = store_options()
    group = commands.add_parser(
        "statsig", parents=[common], help="the x-statsig-id pair every instance signs with"
    )
    sub = group.add_subparsers(dest="statsig_command", required=True, metavar="COMMAND")

    def leaf(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=text, description=text)

    leaf("show", "the pair in use and where it comes from")
    p = leaf("set", "store a new pair (every instance uses it within seconds)")
    p.add_argument("header_hex", metavar="HEADER_HEX", help="49 bytes as hex, or - for stdin")
    p.add_argument("suffix", metavar="SUFFIX", nargs="?", help="the page's suffix")
    p.add_argument("--trailer", type=int, default=3, help="the last byte (default 3)")
    p = leaf("check", "one signed call with one account: accepted, rejected (code 7) or other")
    p.add_argument("--account", metavar="ID", help="the account to check with")
    leaf("capture", "print the browser-console snippet that captures a new pair")


def run(args: argparse.Namespace) -> int:
    if args.statsig_command == "capture":
        print(CAPTURE)
        return 0
    return run_with(args, _HANDLERS[args.statsig_command])


def _describe(pair: StatsigPair) -> str:
    age = f", set {duration(time.time() - pair.set_at)} ago" if pair.set_at else ""
    return (
        f"header {pair.header_hex[:10]}…{pair.header_hex[-6:]}, suffix {pair.suffix!r}, "
        f"trailer {pair.trailer} ({pair.source}{age})"
    )


def _seed(ctx: Context) -> StatsigPair | None:
    from grokgate.upstream.grokweb.statsig_live import StatsigPair

    s = ctx.settings
    if s.statsig_header_hex and s.statsig_suffix is not None:
        return StatsigPair(s.statsig_header_hex, s.statsig_suffix, s.statsig_trailer)
    return None


async def cmd_show(ctx: Context, args: argparse.Namespace) -> int:
    from grokgate.upstream.grokweb.statsig_live import read_pair

    if ctx.settings.statsig_provider_url:
        print("in use: the token provider (GROKGATE_STATSIG_PROVIDER_URL)")
    stored, seed = await read_pair(ctx.store), _seed(ctx)
    if stored is not None:
        print(f"store: {_describe(stored)}")
    if seed is not None:
        print(f"settings: {_describe(seed)}")
    if stored is None and seed is None:
        print("none: the synthetic x1: value is sent (grok.com may reject it)")
        print("capture a pair with `grokgate statsig capture`, then `grokgate statsig set`")
    return 0


async def cmd_set(ctx: Context, args: argparse.Namespace) -> int:
    from grokgate.upstream.grokweb.statsig_live import StatsigPair, write_pair

    header, suffix, trailer = args.header_hex, args.suffix, args.trailer
    if header == "-":
        words = sys.stdin.read().replace("'", " ").split()
        if words[:3] == ["grokgate", "statsig", "set"]:  # the line `capture` printed
            words = words[3:]
        if "--trailer" in words:
            at = words.index("--trailer")
            trailer, words = int(words[at + 1]), words[:at] + words[at + 2 :]
        if len(words) != 2:
            _err("error: stdin must hold HEADER_HEX SUFFIX [--trailer N]")
            return 1
        header, suffix = words
    if suffix is None:
        _err("error: the suffix is missing (grokgate statsig set HEADER_HEX SUFFIX)")
        return 1
    try:
        pair = StatsigPair(header, suffix, trailer, time.time(), "cli")
    except ValueError as exc:
        _err(f"error: {exc}")
        return 1
    await write_pair(ctx.store, pair)
    print(f"stored: {_describe(pair)}; every instance signs with it within seconds")
    return 0


async def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    accounts = [a for a in await ctx.store.list_accounts() if a.kind is AccountKind.GROK_WEB]
    if args.account:
        accounts = [a for a in accounts if a.id == args.account]
    else:
        accounts = [a for a in accounts if a.status is Status.ACTIVE]
    if not accounts:
        _err("error: no such grok.com account" if args.account else "error: no active account")
        return 1
    account = accounts[0]
    client = ctx.runtime().web_client()
    try:
        await client.rate_limits(account, "fast")
    except UpstreamError as exc:
        if exc.code == "upstream_anti_bot":
            print(f"rejected: grok.com refused the pair (403 code 7) for {account.id}")
        else:
            print(f"other: {exc.message}")
        return 1
    print(f"accepted: a signed /rest/rate-limits call for {account.id} went through")
    return 0


_HANDLERS = {"show": cmd_show, "set": cmd_set, "check": cmd_check}
