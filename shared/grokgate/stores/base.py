"""The account store contract.

:class:`AccountStore` owns the public operations (validation, ids, leases, feedback, quota
sync) and calls a few abstract primitives that each backend implements atomically, the way
Powertools' ``BasePersistenceLayer`` sits over its DynamoDB and Redis layers. What each
primitive must do is written once, as pure functions, in :mod:`grokgate.stores.transitions`.

Callers that hold a recent copy of an account (the pool's snapshot) pass it as ``hint``: a
backend that writes with conditional expressions uses it to choose the expression and to
compute health, so the hot path needs no read. Without a hint such a backend reads first.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import SecretStr

from grokgate.errors import InvalidRequestError
from grokgate.stores.holders import is_dead, lease_holder, lease_id_for, process_holder
from grokgate.stores.records import (
    Account,
    AccountKind,
    Lease,
    ModeQuota,
    Status,
    Tier,
    account_id_for,
    default_quotas,
)
from grokgate.stores.transitions import Feedback

__all__ = ["AccountStore", "Acquired", "Feedback", "normalise_token"]

DEFAULT_LEASE_SECONDS = 360.0


@dataclass(frozen=True, slots=True)
class Acquired:
    """The outcome of :meth:`AccountStore.acquire`.

    ``account`` is the state after the write when ``lease`` is set; otherwise the state that
    refused the lease (None if the account does not exist), so the caller learns why without
    another read.
    """

    lease: Lease | None
    account: Account | None


def normalise_token(raw: str) -> str:
    """The SSO value as grok.com expects it (docs/grok-protocol.md §2.1).

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
        raise InvalidRequestError("an SSO token or API key must be one non-empty word")
    try:
        token.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError("an SSO token must be ASCII") from exc
    return token


class AccountStore(ABC):
    """Public operations on the pool's persistent state.

    ``holder`` names this instance in every lease it takes (grokgate.stores.holders).
    ``single_host``: every process using the storage runs on this machine (an SQLite file),
    so the leases of a process that died can be reclaimed at start-up (:meth:`reclaim_dead`).
    """

    single_host = False

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.holder = process_holder()

    # --- accounts --------------------------------------------------------------------------

    async def add_account(
        self,
        token: str,
        tier: Tier = Tier.BASIC,
        *,
        max_inflight: int = 8,
        kind: AccountKind = AccountKind.GROK_WEB,
    ) -> tuple[Account, bool]:
        """Add an account (an SSO token, or an xAI API key with ``kind``); returns it and
        whether it was new (an existing one is unchanged). An xAI key has no tier and no quota
        of its own: xAI's 429s are its limits."""
        value = normalise_token(token)
        if max_inflight < 1:
            raise InvalidRequestError("max_inflight must be at least 1", param="max_inflight")
        now = self.clock()
        xai = kind is AccountKind.XAI_API_KEY
        account = Account(
            id=account_id_for(value, kind),
            token=SecretStr(value),
            kind=kind,
            tier=Tier.BASIC if xai else tier,
            max_inflight=max_inflight,
            created_at=now,
            quotas={} if xai else default_quotas(tier, now),
        )
        if await self._insert_if_absent(account):
            return account, True
        existing = await self._load(account.id)
        if existing is None:  # removed between the two calls
            return await self.add_account(token, tier, max_inflight=max_inflight, kind=kind)
        return existing, False

    async def list_accounts(self) -> list[Account]:
        """Every account (a full read: keep it off the request path)."""
        return sorted(await self._load_all(), key=lambda a: (a.created_at, a.id))

    async def get_account(self, account_id: str) -> Account | None:
        return await self._load(account_id)

    async def remove_account(self, account_id: str) -> bool:
        return await self._delete(account_id)

    async def set_status(self, account_id: str, status: Status) -> bool:
        """Set the state by hand. Making an account active restores it: cooldown over, health
        and failures reset, last error cleared."""
        if status is Status.ACTIVE:
            fb = Feedback(status=status, cooldown_until=0.0, reset_health=True, clear_error=True)
        else:
            fb = Feedback(status=status)
        return await self._update(account_id, fb, None) is not None

    async def set_tier(self, account_id: str, tier: Tier) -> Account | None:
        """Change the tier; quotas become the new tier's defaults until the next sync."""
        current = await self._load(account_id)
        if current is not None and current.kind is AccountKind.XAI_API_KEY:
            raise InvalidRequestError("an xAI API key has no tier", param="tier")
        fb = Feedback(tier=tier, quotas=default_quotas(tier, self.clock()), replace_quotas=True)
        return await self._update(account_id, fb, None)

    async def sync_quotas(
        self,
        account_id: str,
        quotas: Mapping[str, ModeQuota],
        *,
        tier: Tier | None = None,
        full: bool = False,
    ) -> Account | None:
        """Store quotas read from grok.com. ``full``: ``quotas`` is the whole map (a refresh)."""
        fb = Feedback(
            quotas=dict(quotas),
            replace_quotas=full,
            tier=tier,
            synced_at=self.clock() if full else None,
        )
        return await self._update(account_id, fb, None)

    # --- leases ----------------------------------------------------------------------------

    async def acquire(self, account_id: str, mode: str, *, hint: Account | None = None) -> Acquired:
        """Take one in-flight slot and one query of ``mode``, atomically, if the account may
        serve now (status, cooldown, cap, quota). The lease expires after ``lease_seconds``."""
        now = self.clock()
        lease_id = lease_id_for(self.holder, uuid.uuid4().hex)
        expires_at = now + self.lease_seconds
        window, account = await self._acquire(account_id, mode, lease_id, expires_at, now, hint)
        if window is None:
            return Acquired(None, account)
        lease = Lease(
            id=lease_id, account_id=account_id, mode=window, acquired_at=now, expires_at=expires_at
        )
        return Acquired(lease, account)

    async def extend(self, lease: Lease, *, hint: Account | None = None) -> Acquired:
        """Push ``lease``'s expiry to ``lease_seconds`` from now, if it is still held (its
        holder is alive and working). ``lease`` is None when it is not: released, or reclaimed
        after it expired."""
        expires_at = self.clock() + self.lease_seconds
        held, account = await self._extend(lease.account_id, lease.id, expires_at, hint)
        if not held:
            return Acquired(None, account)
        return Acquired(lease.model_copy(update={"expires_at": expires_at}), account)

    async def release(
        self, lease: Lease, feedback: Feedback | None = None, *, hint: Account | None = None
    ) -> Account | None:
        """Give the slot back and apply ``feedback`` in the same write. Idempotent."""
        fb = feedback or Feedback()
        if fb.quota_mode is None and (fb.refund or fb.quota_exhausted_until is not None):
            fb = replace(fb, quota_mode=lease.mode)
        return await self._update(lease.account_id, fb, hint, drop_leases=(lease.id,))

    async def record(
        self, account_id: str, feedback: Feedback, *, hint: Account | None = None
    ) -> Account | None:
        return await self._update(account_id, feedback, hint)

    async def reclaim(self, account: Account) -> Account | None:
        """Give back the slots of ``account``'s expired leases (their holders died)."""
        expired = account.expired_leases(self.clock())
        if not expired:
            return account
        return await self._update(account.id, Feedback(), account, expired)

    async def reclaim_expired(self) -> int:
        """:meth:`reclaim` every account; returns how many leases. A full read: off the hot
        path."""
        now = self.clock()
        reclaimed = 0
        for account in await self._load_all():
            expired = account.expired_leases(now)
            if expired and await self.reclaim(account) is not None:
                reclaimed += len(expired)
        return reclaimed

    async def reclaim_dead(self, dead: Callable[[str], bool] = is_dead) -> int:
        """Give back every lease whose holder is ``dead`` (default: provably dead on this
        machine, see grokgate.stores.holders; never this instance). Returns how many. A full
        read: run at start-up, where every holder sharing the storage can be seen."""
        verdicts: dict[str, bool] = {self.holder: False}
        reclaimed = 0
        for account in await self._load_all():
            drop = []
            for lease_id in account.leases:
                holder = lease_holder(lease_id)
                if holder is None:
                    continue
                if holder not in verdicts:
                    verdicts[holder] = dead(holder)
                if verdicts[holder]:
                    drop.append(lease_id)
            if drop and await self._update(account.id, Feedback(), account, drop) is not None:
                reclaimed += len(drop)
        return reclaimed

    # --- shared values: small documents every instance reads (Cloudflare clearances) --------

    async def get_value(self, key: str) -> dict[str, Any] | None:
        """The document stored under ``key``, or None."""
        return await self._get_value(key)

    async def put_value(self, key: str, doc: dict[str, Any]) -> None:
        """Store ``doc`` (JSON-serialisable) under ``key``, replacing what was there."""
        await self._put_value(key, doc)

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""

    # --- primitives each backend implements atomically -----------------------------------

    @abstractmethod
    async def _get_value(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def _put_value(self, key: str, doc: dict[str, Any]) -> None: ...

    @abstractmethod
    async def _insert_if_absent(self, account: Account) -> bool: ...

    @abstractmethod
    async def _load(self, account_id: str) -> Account | None: ...

    @abstractmethod
    async def _load_all(self) -> list[Account]: ...

    @abstractmethod
    async def _delete(self, account_id: str) -> bool: ...

    @abstractmethod
    async def _acquire(
        self,
        account_id: str,
        mode: str,
        lease_id: str,
        expires_at: float,
        now: float,
        hint: Account | None,
    ) -> tuple[str | None, Account | None]:
        """:func:`~grokgate.stores.transitions.take_slot` in one atomic write.

        Returns (window charged, account after) on success, (None, account as found) otherwise.
        """

    @abstractmethod
    async def _extend(
        self, account_id: str, lease_id: str, expires_at: float, hint: Account | None
    ) -> tuple[bool, Account | None]:
        """:func:`~grokgate.stores.transitions.extend_lease` in one atomic write: (whether the
        lease is still held, the account after; None if unknown or gone)."""

    @abstractmethod
    async def _update(
        self,
        account_id: str,
        feedback: Feedback,
        hint: Account | None,
        drop_leases: tuple[str, ...] | list[str] = (),
    ) -> Account | None:
        """:func:`~grokgate.stores.transitions.apply` in one atomic write; never creates an
        account. Returns the account after (None if it does not exist)."""
