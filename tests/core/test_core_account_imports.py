"""The import core the CLI and the console share: entries of a paste or file (lines or JSON),
each added to the store or rejected with a reason that never repeats the token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grokgate.core.accounts.imports import import_text
from grokgate.errors import InvalidRequestError
from grokgate.stores.records import AccountKind, Tier, account_id_for
from grokgate.stores.sqlite import SqliteAccountStore

TOKEN_A = "eyJhbGciOiJIUzI1NiJ9.core-import-alpha-0123456789"
TOKEN_B = "eyJhbGciOiJIUzI1NiJ9.core-import-bravo-9876543210"


@pytest.fixture
async def store(tmp_path: Path) -> SqliteAccountStore:
    s = SqliteAccountStore(tmp_path / "pool.db")
    yield s  # type: ignore[misc]
    await s.close()


async def test_lines_are_added_rejected_or_already_present(store: SqliteAccountStore) -> None:
    text = f"super:{TOKEN_A}\n# comment\nnot a token\n{TOKEN_B}\n"
    report = await import_text(store, text, default_tier=Tier.BASIC, max_inflight=3)
    assert [(o.label, o.account.id, o.created) for o in report.outcomes] == [
        ("line 1", account_id_for(TOKEN_A), True),
        ("line 4", account_id_for(TOKEN_B), True),
    ]
    assert [o.account.tier for o in report.outcomes] == [Tier.SUPER, Tier.BASIC]
    assert [label for label, _ in report.rejected] == ["line 3"]
    assert all(TOKEN_A not in reason for _, reason in report.rejected)
    assert (report.added, report.present) == (2, 0)
    again = await import_text(store, json.dumps([{"token": TOKEN_A, "tier": "heavy"}]))
    assert (again.added, again.present, again.rejected) == (0, 1, [])


async def test_xai_keys_and_bad_json(store: SqliteAccountStore) -> None:
    report = await import_text(store, "xai-core0123456789abcdefgh", kind=AccountKind.XAI_API_KEY)
    (outcome,) = report.outcomes
    assert outcome.account.kind is AccountKind.XAI_API_KEY and outcome.created
    with pytest.raises(InvalidRequestError, match="invalid JSON"):
        await import_text(store, "[1")
