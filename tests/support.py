"""Constants and small types shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grokgate.config import Settings
from grokgate.simulator.state import SimState
from grokgate.stores.records import Account
from grokgate.stores.sqlite import SqliteAccountStore

API_KEY = "sk-test-0123456789abcdef"
ACCOUNTS = (
    ("super", "sso-test-super-1-eyJhbGciOiJIUzI1NiJ9"),
    ("super", "sso-test-super-2-eyJhbGciOiJIUzI1NiJ9"),
    ("heavy", "sso-test-heavy-1-eyJhbGciOiJIUzI1NiJ9"),
    ("basic", "sso-test-basic-1-eyJhbGciOiJIUzI1NiJ9"),
)
ALL_TOKENS = tuple(token for _, token in ACCOUNTS)


@dataclass
class Sim:
    state: SimState
    url: str


@dataclass
class Gateway:
    url: str
    settings: Settings

    async def accounts(self) -> dict[str, Account]:
        """The gateway's pool as stored (read through a second store on the same file)."""
        store = SqliteAccountStore(self.settings.db_path)
        try:
            return {a.id: a for a in await store.list_accounts()}
        finally:
            await store.close()


GatewayFactory = Callable[..., Gateway]
