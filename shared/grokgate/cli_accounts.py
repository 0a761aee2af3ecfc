"""``grokgate accounts add|import|list|remove|enable|disable|refresh``: manage the pool.

Works on whichever store the settings name (SQLite by default, DynamoDB with ``--store
dynamodb``). Tokens are read from arguments, files or stdin and are never printed: output shows
account ids and masked hints only, and error texts are redacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from grokgate.cli_format import (
    TIERS,
    CliError,
    account_json,
    accounts_table,
    one_line,
    read_source,
    refresh_line,
    stdin_token,
)
from grokgate.config import Settings
from grokgate.core.accounts.imports import add_specs, parse_import, token_spec
from grokgate.errors import GrokGateError, StoreUnavailableError
from grokgate.logs import mask, redact, register_secret
from grokgate.stores.records import Account, AccountKind, Status, Tier

if TYPE_CHECKING:
    from grokgate.runtime import Runtime
    from grokgate.stores.base import AccountStore

_ID = re.compile(r"acct_[0-9a-f]{12}")
# --option → Settings field
_OVERRIDES = {
    "store": "store",
    "table": "dynamodb_table",
    "region": "aws_region",
    "endpoint_url": "aws_endpoint_url",
    "data_dir": "data_dir",
}


@dataclass
class Context:
    settings: Settings
    store: AccountStore
    _runtime: Runtime | None = field(default=None, init=False)

    def runtime(self) -> Runtime:
        if self._runtime is None:
            from grokgate.runtime import Runtime

            self._runtime = Runtime(self.settings, store=self.store)
        return self._runtime

    async def aclose(self) -> None:
        if self._runtime is not None:
            await self._runtime.aclose()  # closes the store too
        else:
            await self.store.close()


# --- parser --------------------------------------------------------------------------------


def store_options() -> argparse.ArgumentParser:
    """The options that say which store to use (a parent parser for every store command)."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--store", choices=["sqlite", "dynamodb"], help="pool backend")
    common.add_argument("--table", help="DynamoDB table (GROKGATE_DYNAMODB_TABLE)")
    common.add_argument("--region", help="AWS region (GROKGATE_AWS_REGION)")
    common.add_argument("--endpoint-url", help="DynamoDB endpoint, e.g. a local one")
    common.add_argument("--data-dir", type=Path, help="SQLite pool directory")
    return common


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``accounts`` group to the top-level sub-parsers."""
    common = store_options()
    group = commands.add_parser("accounts", parents=[common], help="manage the account pool")
    sub = group.add_subparsers(dest="accounts_command", required=True, metavar="COMMAND")

    def leaf(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    p = leaf("add", "add one account by its SSO token, or an xAI API key with --xai")
    p.add_argument("token", metavar="TOKEN", help="[tier:]token, or - to read it from stdin")
    _tier_options(p)
    p.add_argument("--max-inflight", type=_positive, metavar="N", help="concurrent requests")
    p.add_argument("--xai", action="store_true", help="TOKEN is an xAI API key (no tier)")
    p = leaf("import", "add accounts from a file: one token per line, or JSON")
    p.add_argument("file", metavar="FILE", help="path, or - for stdin")
    _tier_options(p)
    p = leaf("list", "show the pool (tokens masked)")
    p.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    for name, text in (
        ("remove", "delete accounts"),
        ("enable", "make accounts active again (clears cooldown, health and error)"),
        ("disable", "stop using accounts"),
    ):
        leaf(name, text).add_argument("ids", nargs="+", metavar="ID")
    p = leaf("refresh", "read quotas and tier from grok.com (all accounts by default)")
    p.add_argument("ids", nargs="*", metavar="ID")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return number


def _tier_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tier", choices=TIERS, help="tier of tokens without a tier: prefix")
    p.add_argument("--refresh", action="store_true", help="read quotas and tier afterwards")


# --- entry point ---------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    return run_with(args, _HANDLERS[args.accounts_command])


def run_with(args: argparse.Namespace, handler: Handler) -> int:
    """Run ``handler`` on the store the options and settings name; errors become one line on
    stderr and exit status 1."""
    try:
        overrides = {f: getattr(args, o) for o, f in _OVERRIDES.items() if hasattr(args, o)}
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _fail(f"invalid settings: {problems}")
    try:
        return asyncio.run(_session(settings, handler, args))
    except StoreUnavailableError as exc:  # the operator is told which table or file
        return _fail(exc.detail or str(exc))
    except (CliError, GrokGateError) as exc:
        return _fail(str(exc))
    except BrokenPipeError:  # e.g. `grokgate accounts list | head`
        _silence_stdout()
        return 1
    except (OSError, sqlite3.Error) as exc:
        return _fail(f"store error: {exc}")
    except Exception as exc:
        if type(exc).__module__.startswith("botocore"):  # e.g. no region, no credentials
            hint = " (use --region or AWS_REGION)" if type(exc).__name__ == "NoRegionError" else ""
            return _fail(f"DynamoDB: {exc}{hint}")
        raise


Handler = Callable[[Context, argparse.Namespace], Awaitable[int]]


async def _session(settings: Settings, handler: Handler, args: argparse.Namespace) -> int:
    from grokgate.stores.open import open_store

    ctx = Context(settings, open_store(settings))
    try:
        return await handler(ctx, args)
    finally:
        await ctx.aclose()


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _fail(message: str) -> int:
    _err(f"error: {message}")
    return 1


def _err(message: str) -> None:
    print(redact(message), file=sys.stderr)


# --- commands ------------------------------------------------------------------------------


async def cmd_add(ctx: Context, args: argparse.Namespace) -> int:
    raw = stdin_token() if args.token == "-" else args.token
    if args.xai:
        return await _add_xai(ctx, raw, args.max_inflight or ctx.settings.xai_max_inflight)
    max_inflight = args.max_inflight or ctx.settings.max_inflight
    spec = token_spec("token", raw, _default_tier(ctx, args), max_inflight)
    account, created = await ctx.store.add_account(
        spec.token, spec.tier, max_inflight=spec.max_inflight
    )
    state = "added" if created else "already present"
    hint = mask(account.token.get_secret_value())
    print(f"{state}: {account.id} ({account.tier.value}, token {hint})")
    if args.refresh:
        return await _refresh(ctx, [account])
    return 0


async def _add_xai(ctx: Context, key: str, max_inflight: int) -> int:
    register_secret(key.strip())
    account, created = await ctx.store.add_account(
        key, max_inflight=max_inflight, kind=AccountKind.XAI_API_KEY
    )
    state = "added" if created else "already present"
    print(f"{state}: {account.id} (xAI API key {mask(account.token.get_secret_value())})")
    return 0


async def cmd_import(ctx: Context, args: argparse.Namespace) -> int:
    text = read_source(args.file)
    specs, rejected = parse_import(text, _default_tier(ctx, args), ctx.settings.max_inflight)
    report = await add_specs(ctx.store, specs, rejected)
    for outcome in report.outcomes:
        state = "added" if outcome.created else "already present"
        print(f"{state}: {outcome.account.id} ({outcome.account.tier.value})")
    for label, reason in report.sorted_rejections():
        _err(f"{label}: rejected: {one_line(reason, 120)}")
    rejected_count = len(report.rejected)
    print(f"{report.added} added, {report.present} already present, {rejected_count} rejected")
    status = 1 if report.rejected else 0
    if args.refresh and report.outcomes:
        status = max(status, await _refresh(ctx, [o.account for o in report.outcomes]))
    return status


async def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    accounts = await ctx.store.list_accounts()
    now = time.time()
    if args.json:
        print(json.dumps([account_json(a, now) for a in accounts], indent=2))
    else:
        print(accounts_table(accounts, now))
    return 0


async def cmd_remove(ctx: Context, args: argparse.Namespace) -> int:
    return await _each_id(args.ids, "removed", ctx.store.remove_account)


async def cmd_enable(ctx: Context, args: argparse.Namespace) -> int:
    return await _each_id(args.ids, "enabled", lambda i: ctx.store.set_status(i, Status.ACTIVE))


async def cmd_disable(ctx: Context, args: argparse.Namespace) -> int:
    return await _each_id(args.ids, "disabled", lambda i: ctx.store.set_status(i, Status.DISABLED))


async def cmd_refresh(ctx: Context, args: argparse.Namespace) -> int:
    status = 0
    if not args.ids:
        accounts = await ctx.store.list_accounts()
        if not accounts:
            print("no accounts")
    else:
        accounts = []
        for account_id in args.ids:
            account = await ctx.store.get_account(account_id) if _ID.fullmatch(account_id) else None
            if account is None:
                status = _unknown(account_id)
            else:
                accounts.append(account)
    if accounts:
        status = max(status, await _refresh(ctx, accounts))
    return status


_HANDLERS: dict[str, Handler] = {
    "add": cmd_add,
    "import": cmd_import,
    "list": cmd_list,
    "remove": cmd_remove,
    "enable": cmd_enable,
    "disable": cmd_disable,
    "refresh": cmd_refresh,
}


# --- helpers -------------------------------------------------------------------------------


async def _refresh(ctx: Context, accounts: list[Account]) -> int:
    """Refresh each account's quotas (and so its tier) from grok.com; 1 if any failed."""
    quota = await ctx.runtime().quota_sync()
    status = 0
    for account in accounts:
        outcome = await quota.refresh(account)
        status = max(status, 1 if outcome.error else 0)
        print(refresh_line(account, outcome, time.time()))
    return status


async def _each_id(ids: list[str], done: str, action: Callable[[str], Awaitable[bool]]) -> int:
    status = 0
    for account_id in ids:
        if _ID.fullmatch(account_id) and await action(account_id):
            print(f"{done}: {account_id}")
        else:
            status = _unknown(account_id)
    return status


def _unknown(account_id: str) -> int:
    if _ID.fullmatch(account_id):
        _err(f"unknown account id: {account_id}")
    else:  # maybe a token pasted by mistake: do not echo it
        _err(f"not an account id (ids look like acct_0123456789ab): {mask(account_id)}")
    return 1


def _default_tier(ctx: Context, args: argparse.Namespace) -> Tier:
    return Tier(args.tier or ctx.settings.default_tier)
