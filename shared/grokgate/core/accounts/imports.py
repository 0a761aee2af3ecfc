"""Adding accounts from a paste or a file: the one parser and the one operation that
``grokgate accounts add|import`` and the console (``POST /admin/api/accounts/import``) share.

An import is one token per line (``[tier:]token``; blank lines and ``# comments`` skipped) or
JSON: a list of tokens or of ``{"token", "tier", "max_inflight"}`` objects, or an object
``{"accounts": [...]}``. Every entry is named by a label ("line 3", "entry 2"), never by its
token: a rejected entry's reason is about its shape, and every token is registered as a secret
before anything could log it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grokgate.errors import InvalidRequestError
from grokgate.logs import register_secret
from grokgate.stores.records import Account, AccountKind, Tier

if TYPE_CHECKING:
    from grokgate.stores.base import AccountStore

TIERS = [t.value for t in Tier]


@dataclass
class Entry:
    """One entry of an import, as written: its label, ``[tier:]token`` or the reason it is
    unusable."""

    label: str
    raw: str = ""  # [tier:]token
    tier: str | None = None
    max_inflight: int | None = None
    error: str | None = None


@dataclass
class Spec:
    """One token to add, from an argument or one entry of an import."""

    label: str  # "line 3", "entry 2": never the token
    tier: Tier
    token: str
    max_inflight: int


@dataclass
class Outcome:
    label: str
    account: Account
    created: bool


@dataclass
class ImportReport:
    """What an import did: each entry added (or already present), and the rejected ones."""

    outcomes: list[Outcome] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)

    @property
    def added(self) -> int:
        return sum(o.created for o in self.outcomes)

    @property
    def present(self) -> int:
        return sum(not o.created for o in self.outcomes)

    def sorted_rejections(self) -> list[tuple[str, str]]:
        return sorted(self.rejected, key=lambda r: label_order(r[0]))


def label_order(label: str) -> tuple[str, int]:
    """Sort key of "line 10" after "line 9"."""
    kind, _, number = label.partition(" ")
    return kind, int(number) if number.isdigit() else 0


def import_entries(text: str) -> Iterator[Entry]:
    """The entries of an import; InvalidRequestError if its JSON is broken or of the wrong
    shape."""
    stripped = text.lstrip("\ufeff").lstrip()
    if not stripped.startswith(("[", "{")):
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip().lstrip("\ufeff")
            if line and not line.startswith("#"):
                yield Entry(f"line {number}", line)
        return
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", param="text"
        ) from exc
    if isinstance(data, dict):
        data = data.get("accounts")
    if not isinstance(data, list):
        raise InvalidRequestError(
            'JSON import must be a list, or an object {"accounts": [...]}', param="text"
        )
    for number, item in enumerate(data, 1):
        yield _json_entry(f"entry {number}", item)


def _json_entry(label: str, item: object) -> Entry:
    if isinstance(item, str):
        return Entry(label, item)
    if not isinstance(item, dict):
        return Entry(label, error="must be a string or an object")
    token = item.get("token", item.get("sso"))
    tier = item.get("tier")
    cap = item.get("max_inflight")
    if not isinstance(token, str):
        return Entry(label, error="missing token" if token is None else "token must be a string")
    if tier is not None and tier not in TIERS:
        return Entry(label, error="tier must be one of " + ", ".join(TIERS))
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        return Entry(label, error="max_inflight must be a positive integer")
    return Entry(label, token, tier, cap)


def token_spec(label: str, raw: str, default: Tier, max_inflight: int) -> Spec:
    """``[tier:]token`` as a :class:`Spec`; InvalidRequestError if it is not a token."""
    from grokgate.runtime import parse_token_spec
    from grokgate.stores.base import normalise_token

    tier, token = parse_token_spec(raw.strip(), default)
    register_secret(token)
    token = normalise_token(token)  # InvalidRequestError: not a token
    register_secret(token)
    return Spec(label, tier, token, max_inflight)


def parse_import(
    text: str, default: Tier, max_inflight: int
) -> tuple[list[Spec], list[tuple[str, str]]]:
    """The tokens of an import, and the (label, reason) of every entry rejected."""
    specs: list[Spec] = []
    rejected: list[tuple[str, str]] = []
    for entry in import_entries(text):
        if entry.raw:
            register_secret(entry.raw.strip())
        if entry.error is not None:
            rejected.append((entry.label, entry.error))
            continue
        tier = Tier(entry.tier) if entry.tier else default
        try:
            cap = entry.max_inflight or max_inflight
            specs.append(token_spec(entry.label, entry.raw, tier, cap))
        except InvalidRequestError as exc:
            rejected.append((entry.label, exc.message))
    return specs, rejected


async def add_specs(
    store: AccountStore,
    specs: list[Spec],
    rejected: list[tuple[str, str]] | None = None,
    *,
    kind: AccountKind = AccountKind.GROK_WEB,
) -> ImportReport:
    """Add each spec to ``store`` (an existing account is left as it is)."""
    report = ImportReport(rejected=list(rejected or []))
    for spec in specs:
        try:
            account, created = await store.add_account(
                spec.token, spec.tier, max_inflight=spec.max_inflight, kind=kind
            )
        except InvalidRequestError as exc:
            report.rejected.append((spec.label, exc.message))
            continue
        report.outcomes.append(Outcome(spec.label, account, created))
    return report


async def import_text(
    store: AccountStore,
    text: str,
    *,
    default_tier: Tier = Tier.BASIC,
    max_inflight: int = 8,
    kind: AccountKind = AccountKind.GROK_WEB,
) -> ImportReport:
    """Parse ``text`` as an import and add its accounts: SSO tokens, or xAI API keys with
    ``kind`` (which have no tier)."""
    specs, rejected = parse_import(text, default_tier, max_inflight)
    return await add_specs(store, specs, rejected, kind=kind)
