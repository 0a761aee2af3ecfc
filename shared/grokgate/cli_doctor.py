"""``grokgate doctor [--account ID] [--json]``: what stands between one account and grok.com
(:mod:`grokgate.doctor`); exits 1 when a step failed."""

from __future__ import annotations

import argparse
import json

from grokgate.cli_accounts import Context, run_with, store_options


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "check the chain to grok.com for one account (egress, Cloudflare, statsig, cookie…)"
    p = commands.add_parser("doctor", parents=[store_options()], help=text, description=text)
    p.add_argument("--account", metavar="ID", help="the account (default: the first active one)")
    p.add_argument("--json", action="store_true", help="the report as JSON")


def run(args: argparse.Namespace) -> int:
    return run_with(args, _doctor)


async def _doctor(ctx: Context, args: argparse.Namespace) -> int:
    from grokgate.doctor import diagnose

    report = await diagnose(ctx.runtime(), args.account)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(f"account {report.account or '-'}")
        for check in report.checks:
            print(check.line())
    return 0 if report.ok else 1
