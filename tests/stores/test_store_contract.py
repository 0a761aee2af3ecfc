"""The AccountStore contract (accounts, ids, tokens, status), run against every backend.

Backends are listed in ``tests/stores/store_support.py`` (SQLite, and DynamoDB through moto's
server over real HTTP).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grokgate.errors import InvalidRequestError
from grokgate.stores.base import AccountStore, Feedback, normalise_token
from grokgate.stores.records import Status, Tier, account_id_for
from tests.stores.store_support import OTHER, TOKEN, fetch
from tests.support import FakeClock

# --- add_account ---------------------------------------------------------------------------


async def test_add_account_creates_then_returns_the_existing_one(
    store: AccountStore, clock: FakeClock
) -> None:
    account, created = await store.add_account(TOKEN, Tier.SUPER, max_inflight=3)
    assert created is True
    assert account.tier is Tier.SUPER
    assert account.max_inflight == 3
    assert account.status is Status.ACTIVE
    assert (account.inflight, account.health, account.fail_count) == (0, 1.0, 0)
    assert account.created_at == clock.now
    assert account.token.get_secret_value() == TOKEN

    again, created = await store.add_account(TOKEN, Tier.SUPER, max_inflight=3)
    assert created is False
    assert again == account


async def test_adding_again_keeps_the_stored_state(store: AccountStore, clock: FakeClock) -> None:
    account, _ = await store.add_account(TOKEN, Tier.SUPER, max_inflight=3)
    await store.record(account.id, Feedback(success=False, health_factor=0.5, error="x"))
    await store.set_status(account.id, Status.COOLING)
    clock.now += 100
    again, created = await store.add_account(f"sso={TOKEN}", Tier.HEAVY, max_inflight=8)
    assert created is False
    assert again.id == account.id
    assert (again.tier, again.max_inflight, again.status) == (Tier.SUPER, 3, Status.COOLING)
    assert again.health == pytest.approx(0.5)
    assert again.fail_count == 1
    assert again.created_at == account.created_at
    assert len(await store.list_accounts()) == 1


async def test_add_account_defaults(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    assert account.tier is Tier.BASIC
    assert account.max_inflight == 8


@pytest.mark.parametrize("bad", ["", "   ", "sso=", "two words", "tök€n", "токен"])
async def test_add_account_rejects_a_bad_token(store: AccountStore, bad: str) -> None:
    with pytest.raises(InvalidRequestError):
        await store.add_account(bad)
    assert await store.list_accounts() == []


# --- normalise_token -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc123", "abc123"),
        ("sso=abc123", "abc123"),
        ("SSO=abc123", "abc123"),
        ("  sso=abc123 \n", "abc123"),
        ("abc123; Path=/; HttpOnly", "abc123"),
        ("sso=abc123;sso-rw=abc123", "abc123"),
        ("a\u200bb\u200cc\u200dd\u2060e\ufefff", "abcdef"),
        ("sso=\u200babc123", "abc123"),
        ("a\u2010b\u2011c\u2012d\u2013e\u2014f\u2212g", "a-b-c-d-e-f-g"),
        ("café-token", "café-token"),  # latin-1 is a valid cookie byte string
    ],
)
def test_normalise_token(raw: str, expected: str) -> None:
    assert normalise_token(raw) == expected


@pytest.mark.parametrize("prefix", ["\ufeff", "\u200b", "\u2060"])
def test_normalise_token_strips_zero_width_chars_before_the_sso_prefix(prefix: str) -> None:
    # e.g. a token file saved with a BOM: "\ufeffsso=..." must not keep the "sso=" prefix
    assert normalise_token(f"{prefix}sso=abc123") == "abc123"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "\u200b\ufeff",
        "sso=",
        "sso=  ",
        ";abc",
        "ab cd",
        "ab\tcd",
        "tök€n",
        "токен",
        "🔑",
    ],
)
def test_normalise_token_rejects(raw: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        normalise_token(raw)
    assert info.value.status == 400


@given(st.text(st.sampled_from("abcXYZ0189-_.~"), min_size=1, max_size=40))
def test_normalise_token_round_trips_cookie_forms(token: str) -> None:
    assert normalise_token(token) == token
    assert normalise_token(f"sso={token}; Path=/") == token
    assert normalise_token(f" {token}\u200b ") == token


# --- ids -----------------------------------------------------------------------------------


async def test_ids_are_acct_plus_12_hex_and_reveal_nothing(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    other, _ = await store.add_account(OTHER)
    for acc, token in ((account, TOKEN), (other, OTHER)):
        assert re.fullmatch(r"acct_[0-9a-f]{12}", acc.id)
        assert acc.id == account_id_for(token)
        for piece in (token, token[:8], token[-8:]):
            assert piece not in acc.id
    assert account.id != other.id


async def test_the_id_depends_on_the_normalised_token(store: AccountStore) -> None:
    a, _ = await store.add_account(f"sso={TOKEN};")
    assert a.id == account_id_for(TOKEN)


# --- list / get / remove -------------------------------------------------------------------


async def test_list_get_remove(store: AccountStore, clock: FakeClock) -> None:
    assert await store.list_accounts() == []
    first, _ = await store.add_account(TOKEN)
    clock.now += 1
    second, _ = await store.add_account(OTHER)
    assert [a.id for a in await store.list_accounts()] == [first.id, second.id]
    assert await store.get_account(first.id) == first
    assert await store.get_account("acct_000000000000") is None

    assert await store.remove_account(first.id) is True
    assert await store.remove_account(first.id) is False
    assert await store.get_account(first.id) is None
    assert [a.id for a in await store.list_accounts()] == [second.id]


async def test_list_orders_by_creation_time_then_id(store: AccountStore) -> None:
    tokens = [f"token-{i}-same-time" for i in range(5)]
    for token in tokens:
        await store.add_account(token)
    listed = [a.id for a in await store.list_accounts()]
    assert listed == sorted(account_id_for(t) for t in tokens)


# --- set_status ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(Status))
async def test_set_status(store: AccountStore, status: Status) -> None:
    account, _ = await store.add_account(TOKEN)
    assert await store.set_status(account.id, status) is True
    fresh = await fetch(store, account.id)
    assert fresh.status is status
    assert (fresh.health, fresh.fail_count, fresh.use_count) == (1.0, 0, 0)
    assert fresh.last_error is None


async def test_set_status_of_a_missing_account(store: AccountStore) -> None:
    assert await store.set_status("acct_000000000000", Status.DISABLED) is False
