"""The account store contract.

:class:`AccountStore` owns the public operations (validation, ids, leases, feedback) and calls a
few abstract primitives that each backend implements atomically, the way Powertools'
``BasePersistenceLayer`` sits over its DynamoDB and Redis layers. A backend only has to answer
"insert if absent", "load", "conditionally take a slot", "give a slot back" and "apply this
change"; everything else is written once here, so every backend behaves the same.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from grokgate.errors import InvalidRequestError
from grokgate.stores.records import Account, Lease, Status, Tier, account_id_for


@dataclass(frozen=True, slots=True)
class Feedback:
    """A change to an account after an upstream call. ``None`` fields stay as they are."""

    success: bool
    status: Status | None = None
    health_factor: float = 1.0  # multiply health by this (failures)
    health_bonus: float = 0.0  # add this to health (successes), capped at 1.0
    cooldown_until: float | None = None
    error: str | None = None

    @property
    def counts_as_failure(self) -> bool:
        return not self.success and self.error is not None


def normalise_token(raw: str) -> str:
    """The SSO value as grok.com expects it (research note §2.1).

    Strips a leading ``sso=``, anything after the first ``;``, zero-width characters and
    surrounding space, and maps unicode dashes to ``-``.
    """
    token = raw
    for ch in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"):
        token = token.replace(ch, "")
    token = token.strip()
    if token.lower().startswith("sso="):
        token = token[4:]
    token = token.split(";", 1)[0]
    for ch in ("\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"):
        token = token.replace(ch, "-")
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise InvalidRequestError("an SSO token must be one non-empty word")
    try:
        token.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError("an SSO token must be ASCII") from exc
    return token


class AccountStore(ABC):
    """Public operations on the pool's persistent state."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    # --- public operations ---------------------------------------------------------------

    async def add_account(
        self, token: str, tier: Tier = Tier.BASIC, *, max_inflight: int = 8
    ) -> tuple[Account, bool]:
        """Add an account; returns it and whether it was new (an existing one is unchanged)."""
        value = normalise_token(token)
        if max_inflight < 1:
            raise InvalidRequestError("max_inflight must be at least 1", param="max_inflight")
        account = Account(
            id=account_id_for(value),
            token=SecretStr(value),
            tier=tier,
            max_inflight=max_inflight,
            created_at=self.clock(),
        )
        created = await self._insert_if_absent(account)
        if created:
            return account, True
        existing = await self._load(account.id)
        assert existing is not None
        return existing, False

    async def list_accounts(self) -> list[Account]:
        return sorted(await self._load_all(), key=lambda a: (a.created_at, a.id))

    async def get_account(self, account_id: str) -> Account | None:
        return await self._load(account_id)

    async def remove_account(self, account_id: str) -> bool:
        return await self._delete(account_id)

    async def set_status(self, account_id: str, status: Status) -> bool:
        """Set the state by hand; making an account active also ends its cooldown."""
        cooldown = 0.0 if status is Status.ACTIVE else None
        return await self._apply(
            account_id, Feedback(success=False, status=status, cooldown_until=cooldown)
        )

    async def acquire(self, account_id: str) -> Lease | None:
        """Take one in-flight slot of the account, atomically, if it may serve now."""
        now = self.clock()
        if not await self._try_acquire(account_id, now):
            return None
        return Lease(id=uuid.uuid4().hex, account_id=account_id, acquired_at=now)

    async def release(self, lease: Lease) -> None:
        await self._release(lease.account_id)

    async def record(self, account_id: str, feedback: Feedback) -> None:
        await self._apply(account_id, feedback)

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""

    # --- primitives each backend implements atomically -----------------------------------

    @abstractmethod
    async def _insert_if_absent(self, account: Account) -> bool: ...

    @abstractmethod
    async def _load(self, account_id: str) -> Account | None: ...

    @abstractmethod
    async def _load_all(self) -> list[Account]: ...

    @abstractmethod
    async def _delete(self, account_id: str) -> bool: ...

    @abstractmethod
    async def _try_acquire(self, account_id: str, now: float) -> bool:
        """``inflight += 1`` if status is active/cooling, cooldown is over and inflight < cap."""

    @abstractmethod
    async def _release(self, account_id: str) -> None:
        """``inflight -= 1``, never below zero."""

    @abstractmethod
    async def _apply(self, account_id: str, feedback: Feedback) -> bool:
        """Apply ``feedback`` in one atomic write; False if the account does not exist."""
