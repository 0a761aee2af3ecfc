"""grok.com user ids (the WebSocket gateway's ``uid``), learnt once per account and kept.

The id comes from the account record when a previous lookup stored it; otherwise from
``GET /api/auth/session`` (docs/grok-protocol.md §5.1), after which it is written to the record
(every instance then reads it from the store) and cached in this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from grokgate.errors import GrokGateError
from grokgate.logs import get_logger
from grokgate.stores.base import AccountStore
from grokgate.stores.records import Account
from grokgate.stores.transitions import Feedback

log = get_logger("user_ids")


class StoredUserIds:
    def __init__(self, store: AccountStore, lookup: Callable[[Account], Awaitable[str]]) -> None:
        self.store = store
        self.lookup = lookup
        self._known: dict[str, str] = {}  # account id → user id (ids never change)
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, account: Account) -> str:
        if account.user_id:
            return account.user_id
        known = self._known.get(account.id)
        if known is not None:
            return known
        async with self._locks.setdefault(account.id, asyncio.Lock()):  # one lookup at a time
            known = self._known.get(account.id)
            if known is not None:
                return known
            user_id = await self.lookup(account)  # raises UpstreamError with a verdict
            self._known[account.id] = user_id
        try:
            await self.store.record(account.id, Feedback(user_id=user_id))
        except GrokGateError as exc:  # the id still works; the next instance looks it up again
            log.warning("could not store the user id of %s: %s", account.id, exc.message)
        return user_id
