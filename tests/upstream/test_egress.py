"""EgressPool: one sticky proxy per account, pinned in the store; failing proxies rest, dead
ones give their accounts to live ones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from grokgate.errors import EgressError
from grokgate.stores.records import AccountKind, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.browser.api import DIRECT
from grokgate.upstream.clearance import ClearanceBook
from grokgate.upstream.egress import EgressPool, proxy_key
from tests.support import FakeClock
from tests.upstream.browser_support import FINGERPRINT

A = "http://alice:pa55word-http@127.0.0.1:3128"
B = "socks5h://bob:pa55word-socks@127.0.0.1:1080"


@pytest.fixture
async def store(tmp_path: Path) -> SqliteAccountStore:
    store = SqliteAccountStore(tmp_path / "pool.db")
    yield store  # type: ignore[misc]
    await store.close()


def pool(
    store: SqliteAccountStore, clock: FakeClock, proxies: list[str], **kw: object
) -> EgressPool:
    book = ClearanceBook(store=store, fingerprint=FINGERPRINT)
    return EgressPool(proxies=proxies, store=store, clearances=book, clock=clock, **kw)  # type: ignore[arg-type]


def test_proxy_names_are_host_and_port_without_credentials() -> None:
    assert proxy_key(A) == "127.0.0.1:3128"
    assert proxy_key(B) == "127.0.0.1:1080"
    assert proxy_key("http://[::1]:8080") == "[::1]:8080"
    assert proxy_key("https://proxy.example") == "proxy.example:443"
    with pytest.raises(ValueError, match="scheme"):
        proxy_key("ftp://127.0.0.1:21")


async def test_without_proxies_every_account_goes_direct(store: SqliteAccountStore) -> None:
    account, _ = await store.add_account("sso-direct-0123456789")
    egress = await pool(store, FakeClock(), []).for_account(account)
    assert (egress.key, egress.proxy) == (DIRECT, None)
    assert (await store.get_account(account.id)).egress is None  # nothing pinned


async def test_accounts_are_pinned_in_the_store_and_instances_agree(
    store: SqliteAccountStore,
) -> None:
    clock = FakeClock()
    first, second = pool(store, clock, [A, B]), pool(store, clock, [B, A])
    accounts = [(await store.add_account(f"sso-pin-{i:02d}-0123456789"))[0] for i in range(12)]
    keys = set()
    for account in accounts:
        egress = await first.for_account(account)
        again = await second.for_account(account)  # another instance, unaware of the pin
        assert egress.key == again.key and egress.proxy in (A, B)
        assert (await store.get_account(account.id)).egress == egress.key
        keys.add(egress.key)
    assert keys == {"127.0.0.1:3128", "127.0.0.1:1080"}  # spread over both proxies
    pinned = await store.get_account(accounts[0].id)
    assert (await first.for_account(pinned)).key == pinned.egress


async def test_xai_keys_are_never_pinned(store: SqliteAccountStore) -> None:
    key, _ = await store.add_account("xai-0123456789abcdef", kind=AccountKind.XAI_API_KEY)
    assert (await pool(store, FakeClock(), [A]).for_account(key)).key == DIRECT


async def test_a_failing_proxy_rests_then_dies_and_its_accounts_move(
    store: SqliteAccountStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    egresses = pool(store, clock, [A, B], rest_seconds=30, dead_after=3, dead_seconds=600)
    account, _ = await store.add_account("sso-move-0123456789", Tier.SUPER)
    home = (await egresses.for_account(account)).key
    account = await store.get_account(account.id)
    other = ({"127.0.0.1:3128", "127.0.0.1:1080"} - {home}).pop()
    caplog.set_level(logging.INFO)
    for failure in (1, 2):
        egresses.failed(EgressError(f"refused #{failure}", egress=home))
        assert egresses.resting(account)
        with pytest.raises(EgressError, match="resting") as info:
            await egresses.for_account(account)  # at once, without trying the proxy
        assert info.value.egress == home
        clock.advance(31)
        assert not egresses.resting(account)
    egresses.failed(EgressError("refused #3", egress=home))
    assert (await egresses.for_account(account)).key == other  # declared dead: moved
    assert (await store.get_account(account.id)).egress == other
    text = caplog.text
    assert "declared dead" in text and "moved from dead proxy" in text
    assert "pa55word" not in text


async def test_a_success_ends_a_run_of_failures(store: SqliteAccountStore) -> None:
    clock = FakeClock()
    egresses = pool(store, clock, [A], rest_seconds=30, dead_after=2)
    account, _ = await store.add_account("sso-recover-0123456789")
    key = (await egresses.for_account(account)).key
    egresses.failed(EgressError("refused", egress=key))
    egresses.succeeded(key)
    egresses.failed(EgressError("refused", egress=key))
    clock.advance(31)
    assert (await egresses.for_account(await store.get_account(account.id))).key == key


async def test_every_proxy_dead_is_an_egress_error(store: SqliteAccountStore) -> None:
    clock = FakeClock()
    egresses = pool(store, clock, [A], dead_after=1)
    account, _ = await store.add_account("sso-alldead-0123456789")
    key = (await egresses.for_account(account)).key
    egresses.failed(EgressError("refused", egress=key))
    clock.advance(60)
    with pytest.raises(EgressError, match="every egress proxy is dead"):
        await egresses.for_account(await store.get_account(account.id))


def test_a_proxy_named_twice_is_a_configuration_error(tmp_path: Path) -> None:
    store = SqliteAccountStore(tmp_path / "x.db")
    with pytest.raises(ValueError, match="twice"):
        pool(store, FakeClock(), [A, A.replace("alice", "carol")])
