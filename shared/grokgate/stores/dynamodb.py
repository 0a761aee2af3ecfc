"""The DynamoDB backend: one item per account, shared by every function instance.

Taking a slot is one conditional ``UpdateItem`` (status, cooldown, ``size(leases) <
max_inflight``, quota ≥ 1) that adds the lease and spends the query; giving it back is one
``UpdateItem`` that removes the lease and applies the feedback. ``ALL_NEW`` keeps the caller's
snapshot fresh and ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` says why a lease was refused
without another read (docs/serverless.md §5).

DynamoDB cannot multiply, so health is computed from the caller's copy of the account (the
``hint``): concurrent health updates are last-writer-wins, which a heuristic score tolerates.
The boto3 client is injected (or built lazily); calls run in a worker thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from grokgate.stores.base import DEFAULT_LEASE_SECONDS, AccountStore
from grokgate.stores.dynamo_calls import CONDITION_FAILED, DynamoCalls, Rejected, make_table
from grokgate.stores.dynamo_codec import Expr, from_item, to_item, value
from grokgate.stores.records import (
    UNTRACKED_MODES,
    Account,
    QuotaSource,
    Status,
    from_doc,
    to_doc,
)
from grokgate.stores.transitions import (
    Feedback,
    new_health,
    quota_changes,
    take_slot,
    truncate_error,
    untracked_media_quota,
)

KEY = "id"
VALUE_PREFIX = "~value#"  # shared values live beside the accounts, under ids no account has
_INVALID = "ValidationException"  # e.g. an update path under a quota window that is gone


def create_table(client: Any, table: str) -> None:
    """Create the accounts table (on-demand), as ``template.yaml`` does in the cloud."""
    make_table(client, table, {KEY: "S"})


class DynamoAccountStore(AccountStore):
    def __init__(
        self,
        table: str,
        client: Any | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        super().__init__(clock, lease_seconds=lease_seconds)
        self.table = table
        self._calls = DynamoCalls(table, client, client_factory=client_factory)

    # --- reads -----------------------------------------------------------------------------

    async def _load(self, account_id: str) -> Account | None:
        out = await self._calls.call(
            "get_item", TableName=self.table, Key={KEY: value(account_id)}, ConsistentRead=True
        )
        item = out.get("Item")
        return from_doc(from_item(item)) if item else None

    async def _load_all(self) -> list[Account]:
        accounts: list[Account] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            out = await self._calls.call("scan", **kwargs)
            accounts.extend(
                from_doc(from_item(item))
                for item in out.get("Items", [])
                if not item[KEY]["S"].startswith(VALUE_PREFIX)
            )
            start = out.get("LastEvaluatedKey")
            if not start:
                return accounts
            kwargs["ExclusiveStartKey"] = start

    async def _get_value(self, key: str) -> dict[str, Any] | None:
        out = await self._calls.call(
            "get_item",
            TableName=self.table,
            Key={KEY: value(VALUE_PREFIX + key)},
            ConsistentRead=True,
        )
        item = out.get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    # --- writes ----------------------------------------------------------------------------

    async def _put_value(self, key: str, doc: dict[str, Any]) -> None:
        await self._calls.call(
            "put_item",
            TableName=self.table,
            Item={KEY: value(VALUE_PREFIX + key), "doc": {"S": json.dumps(doc)}},
        )

    async def _insert_if_absent(self, account: Account) -> bool:
        try:
            await self._calls.call(
                "put_item",
                TableName=self.table,
                Item=to_item(to_doc(account)),
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": KEY},
            )
        except Rejected:
            return False
        return True

    async def _delete(self, account_id: str) -> bool:
        out = await self._calls.call(
            "delete_item",
            TableName=self.table,
            Key={KEY: value(account_id)},
            ReturnValues="ALL_OLD",
        )
        return bool(out.get("Attributes"))

    async def _acquire(
        self,
        account_id: str,
        mode: str,
        lease_id: str,
        expires_at: float,
        now: float,
        hint: Account | None,
    ) -> tuple[str | None, Account | None]:
        current = hint if hint is not None else await self._load(account_id)
        for _ in range(3):  # a stale hint costs one more write, a crash's debris one more
            if current is None:
                return None, None
            expired = current.expired_leases(now)
            if expired:  # reclaim a dead holder's slots before counting them
                current = await self._update(account_id, Feedback(), current, expired)
                continue
            planned = take_slot(current, mode, lease_id, expires_at, now)
            if planned is None:
                return None, current
            window = planned[0]
            try:
                out = await self._calls.call(
                    "update_item",
                    **self._acquire_request(current, window, lease_id, expires_at, now),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except Rejected as rejected:
                current = from_doc(from_item(rejected.item)) if rejected.item else None
                continue
            return window, from_doc(from_item(out["Attributes"]))
        return None, current

    def _acquire_request(
        self, current: Account, window: str, lease_id: str, expires_at: float, now: float
    ) -> dict[str, Any]:
        e = Expr()
        st, leases, quotas = e.name("status"), e.name("leases"), e.name("quotas")
        q = f"{quotas}.{e.name(window)}"
        e.cond(f"attribute_exists({e.name(KEY)})")
        e.cond(f"{st} IN ({e.val(Status.ACTIVE.value)}, {e.val(Status.COOLING.value)})")
        e.cond(f"{e.name('cooldown_until')} <= {e.val(now)}")
        e.cond(f"size({leases}) < {e.name('max_inflight')}")
        quota = current.quotas.get(window)
        if quota is None:  # an untracked Imagine group: charge nothing, unless it is tracked now
            e.cond(f"attribute_not_exists({q})")
        elif window in UNTRACKED_MODES and quota.remaining < 1:  # its spent time has passed
            e.cond(f"{q}.{e.name('remaining')} < {e.val(1)}")
            e.cond(f"{q}.{e.name('reset_at')} <= {e.val(now)}")
            e.remove(q)
        elif quota.refilled(now):
            e.cond(f"{q}.{e.name('remaining')} < {e.val(1)}")
            e.cond(f"{q}.{e.name('reset_at')} <= {e.val(now)}")
            e.set(f"{q}.{e.name('remaining')}", e.val(quota.total - 1))
            e.set(f"{q}.{e.name('reset_at')}", e.val(now + quota.window))
            e.set(f"{q}.{e.name('source')}", e.val(QuotaSource.ESTIMATED.value))
        else:
            remaining = f"{q}.{e.name('remaining')}"
            e.cond(f"{remaining} >= {e.val(1)}")
            e.set(remaining, f"{remaining} - {e.val(1)}")
        e.set(f"{leases}.{e.name(lease_id)}", e.val(expires_at))
        e.set(e.name("last_used_at"), e.val(now))
        return e.request(self.table, KEY, current.id)

    async def _extend(
        self, account_id: str, lease_id: str, expires_at: float, hint: Account | None
    ) -> tuple[bool, Account | None]:
        e = Expr()
        lease = f"{e.name('leases')}.{e.name(lease_id)}"
        e.cond(f"attribute_exists({lease})")
        e.set(lease, e.val(expires_at))
        try:
            out = await self._calls.call(
                "update_item",
                **e.request(self.table, KEY, account_id),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Rejected as rejected:  # released, reclaimed, or the account is gone
            return False, from_doc(from_item(rejected.item)) if rejected.item else None
        return True, from_doc(from_item(out["Attributes"]))

    async def _update(
        self,
        account_id: str,
        feedback: Feedback,
        hint: Account | None,
        drop_leases: tuple[str, ...] | list[str] = (),
    ) -> Account | None:
        base = hint
        if base is None and (feedback.touches_health or _needs_whole_quotas(feedback)):
            base = await self._load(account_id)
            if base is None:
                return None
        request = _update_request(self.table, account_id, feedback, base, drop_leases)
        if request is None:
            return base if base is not None else await self._load(account_id)
        try:
            tolerate = (CONDITION_FAILED, _INVALID) if feedback.quota_mode else (CONDITION_FAILED,)
            out = await self._calls.call(
                "update_item", tolerate=tolerate, **request, ReturnValues="ALL_NEW"
            )
        except Rejected:
            if feedback.quota_mode is None:
                return None  # the account is gone
            # The quota window vanished (a sync changed the tier), or a refund met a spent
            # window: apply the rest.
            bare = replace(feedback, quota_mode=None, refund=False, quota_exhausted_until=None)
            return await self._update(account_id, bare, hint, drop_leases)
        return from_doc(from_item(out["Attributes"]))


def _needs_whole_quotas(fb: Feedback) -> bool:
    """Per-mode quota writes and a spend/refund of the same mode would overlap paths."""
    return bool(fb.quotas) and fb.quota_mode is not None and not fb.replace_quotas


def _update_request(
    table: str,
    account_id: str,
    fb: Feedback,
    base: Account | None,
    drop_leases: tuple[str, ...] | list[str],
) -> dict[str, Any] | None:
    e = Expr()
    e.cond(f"attribute_exists({e.name(KEY)})")
    for lid in drop_leases:
        e.remove(f"{e.name('leases')}.{e.name(lid)}")
    if fb.touches_health:
        assert base is not None
        e.set(e.name("health"), e.val(new_health(base.health, fb)))
    if fb.success:
        e.set(e.name("use_count"), f"{e.name('use_count')} + {e.val(1)}")
    if fb.success or fb.reset_health:
        e.set(e.name("fail_count"), e.val(0))
    elif fb.counts_as_failure:
        e.set(e.name("fail_count"), f"{e.name('fail_count')} + {e.val(1)}")
    if fb.status is not None:
        e.set(e.name("status"), e.val(fb.status.value))
    if fb.cooldown_until is not None:
        e.set(e.name("cooldown_until"), e.val(fb.cooldown_until))
    if fb.error is not None or fb.clear_error:
        error = truncate_error(fb.error) if fb.error is not None else None
        e.set(e.name("last_error"), e.val(error))
    if fb.tier is not None:
        e.set(e.name("tier"), e.val(fb.tier.value))
    if fb.synced_at is not None:
        e.set(e.name("synced_at"), e.val(fb.synced_at))
    if fb.user_id is not None:
        e.set(e.name("user_id"), e.val(fb.user_id))
    if fb.egress is not None:
        e.set(e.name("egress"), e.val(fb.egress))
    _quota_ops(e, fb, base)
    if e.empty:
        return None
    return e.request(table, KEY, account_id)


def _quota_ops(e: Expr, fb: Feedback, base: Account | None) -> None:
    if fb.quotas is None and fb.quota_mode is None:
        return
    quotas = e.name("quotas")
    if fb.replace_quotas or _needs_whole_quotas(fb):
        current = base.quotas if base is not None else {}
        whole = quota_changes(current, fb) or {}
        e.set(quotas, e.val({m: q.model_dump(mode="json") for m, q in whole.items()}))
        return
    for mode, quota in (fb.quotas or {}).items():
        e.set(f"{quotas}.{e.name(mode)}", e.val(quota.model_dump(mode="json")))
    if fb.quota_mode is None:
        return
    q = f"{quotas}.{e.name(fb.quota_mode)}"
    if fb.quota_exhausted_until is not None and fb.quota_mode in UNTRACKED_MODES:
        # An Imagine group may be untracked: write the whole window (a 429 starts tracking it).
        stored = base.quotas.get(fb.quota_mode) if base is not None else None
        spent = (stored or untracked_media_quota()).model_copy(
            update={
                "remaining": 0,
                "reset_at": fb.quota_exhausted_until,
                "source": QuotaSource.ESTIMATED,
            }
        )
        e.set(q, e.val(spent.model_dump(mode="json")))
    elif fb.quota_exhausted_until is not None:
        e.cond(f"attribute_exists({q})")
        e.set(f"{q}.{e.name('remaining')}", e.val(0))
        e.set(f"{q}.{e.name('reset_at')}", e.val(fb.quota_exhausted_until))
        e.set(f"{q}.{e.name('source')}", e.val(QuotaSource.ESTIMATED.value))
    elif fb.refund:  # refused when the window is spent: the retry then skips the refund
        remaining = f"{q}.{e.name('remaining')}"
        e.cond(f"{remaining} >= {e.val(1)}")
        e.set(remaining, f"{remaining} + {e.val(1)}")
