"""How ``grokgate accounts list`` shows an account's egress."""

from __future__ import annotations

from pydantic import SecretStr

from grokgate.cli_format import account_json, accounts_table
from grokgate.stores.records import Account, AccountKind

NOW = 1_700_000_000.0


def test_the_egress_column_shows_the_proxy_direct_or_nothing() -> None:
    pinned = Account(id="acct_a", token=SecretStr("eyJ-token-a-0123456789"), egress="10.0.0.9:3128")
    direct = Account(id="acct_b", token=SecretStr("eyJ-token-b-0123456789"))
    key = Account(id="xai_c", token=SecretStr("xai-0123456789abcdef"), kind=AccountKind.XAI_API_KEY)
    header, *rows = accounts_table([pinned, direct, key], NOW).splitlines()
    column = header.split().index("EGRESS")
    assert [row.split()[column] for row in rows] == ["10.0.0.9:3128", "direct", "-"]
    assert account_json(pinned, NOW)["egress"] == "10.0.0.9:3128"
