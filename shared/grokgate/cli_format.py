"""Formats of ``grokgate accounts``: tables, JSON, one-line summaries (never a token); the
entries of an import file are parsed by :mod:`grokgate.core.accounts.imports`.

Tokens appear only through :func:`grokgate.logs.mask`; error texts pass through
:func:`grokgate.logs.redact` and are cut to one short line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grokgate.core.accounts.imports import TIERS, Entry, import_entries, label_order
from grokgate.logs import mask, redact
from grokgate.stores.records import (
    ALL_MODES,
    COMPUTER_USE,
    SERVING,
    Account,
    AccountKind,
    ModeQuota,
)

__all__ = ["TIERS", "CliError", "Entry", "import_entries", "label_order"]

if TYPE_CHECKING:
    from grokgate.core.accounts.quota import RefreshOutcome

ERROR_WIDTH = 60
_MODE_LABELS = {COMPUTER_USE: "computer-use"}
HEADERS = (
    "ID",
    "TOKEN",
    "TIER",
    "STATUS",
    "QUOTA",
    "INFLIGHT",
    "HEALTH",
    "USE/FAIL",
    "EGRESS",
    "ERROR",
)


def one_line(text: str, limit: int = ERROR_WIDTH) -> str:
    """``text`` redacted, on one line, at most ``limit`` characters."""
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))}s"
    if seconds < 5400:
        return f"{round(seconds / 60)}m"
    return f"{round(seconds / 3600)}h"


def status_text(account: Account, now: float) -> str:
    """The status as a person reads it: "cooling 14m" while a cooldown runs."""
    if account.status in SERVING and account.cooldown_until > now:
        return f"cooling {duration(account.cooldown_until - now)}"
    return account.status.value


def _ordered(quotas: dict[str, ModeQuota]) -> list[tuple[str, ModeQuota]]:
    known = [(m, quotas[m]) for m in ALL_MODES if m in quotas]
    return known + sorted((m, q) for m, q in quotas.items() if m not in ALL_MODES)


def quota_text(quotas: dict[str, ModeQuota], now: float) -> str:
    """``fast 28/30, auto 50/50``: what each mode has left of its window now."""
    parts = [
        f"{_MODE_LABELS.get(mode, mode)} {q.remaining_at(now)}/{q.total}"
        for mode, q in _ordered(quotas)
    ]
    return ", ".join(parts) or "-"


def egress_text(account: Account) -> str:
    """Where the account's grok.com traffic leaves from: its proxy's host:port (the store
    never holds a proxy's credentials), ``direct``, or ``-`` for an xAI key."""
    if account.kind is AccountKind.XAI_API_KEY:
        return "-"
    return account.egress or "direct"


def account_row(account: Account, now: float) -> list[str]:
    return [
        account.id,
        mask(account.token.get_secret_value()),
        "xai" if account.kind is AccountKind.XAI_API_KEY else account.tier.value,
        status_text(account, now),
        quota_text(account.quotas, now),
        f"{account.live_inflight(now)}/{account.max_inflight}",
        f"{account.health:.2f}",
        f"{account.use_count}/{account.fail_count}",
        egress_text(account),
        one_line(account.last_error) if account.last_error else "-",
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers))]
    lines = []
    for row in (headers, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def accounts_table(accounts: Sequence[Account], now: float) -> str:
    if not accounts:
        return "no accounts"
    return table(HEADERS, [account_row(a, now) for a in accounts])


def account_json(account: Account, now: float) -> dict[str, Any]:
    """The account as JSON-ready data, without its token (a masked hint instead)."""
    doc = account.model_dump(mode="json", exclude={"token", "leases"})
    doc["token_hint"] = mask(account.token.get_secret_value())
    doc["display_status"] = status_text(account, now)
    doc["inflight"] = account.live_inflight(now)
    doc["last_error"] = redact(account.last_error) if account.last_error else None
    for mode, quota in account.quotas.items():
        doc["quotas"][mode]["remaining_now"] = quota.remaining_at(now)
    return doc


def refresh_line(before: Account, outcome: RefreshOutcome, now: float) -> str:
    """One line per refreshed account: tier before → after, then quotas or the error."""
    after = outcome.account
    tier_after = outcome.tier_after.value if outcome.tier_after else "?"
    head = f"{before.id}  {outcome.tier_before.value} → {tier_after}"
    state = "removed meanwhile" if after is None else status_text(after, now)
    if outcome.error:
        return f"{head}  {state}  error: {one_line(outcome.error, 160)}"
    return f"{head}  {state if after is None else quota_text(after.quotas, now)}"


# --- import files --------------------------------------------------------------------------


class CliError(Exception):
    """An expected failure of a command: printed as one line, exit status 1."""


def stdin_token() -> str:
    """The first non-blank line of stdin (``add -``)."""
    for line in sys.stdin.read().splitlines():
        if line.strip():
            return line.strip()
    raise CliError("no token on stdin")


def read_source(path: str) -> str:
    """The text of an import file, or of stdin for ``-``."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
