"""Jobs in DynamoDB, shared by every function instance (table key ``id``, on-demand).

Two kinds of item live in the table:

- a job: its record's fields as attributes (``status`` and friends are addressed through
  placeholders), plus ``expiration`` = ``expires_at`` in whole epoch seconds, the table's TTL
  attribute, so DynamoDB deletes expired jobs by itself (within days: reads still compare
  ``expires_at`` against now);
- an idempotency claim, ``id = "idem#<owner>#<key>"``, holding ``job_id`` (and the same
  ``expiration``). Job ids never contain ``#``, owners neither, so the two cannot collide.

A create with a key writes both items in one ``TransactWriteItems``, each conditioned on
``attribute_not_exists(id)``; when the claim's condition fails the claim names the job that
won. An update is one conditional ``UpdateItem`` (``#status IN (...)``) returning ``ALL_NEW``.

:meth:`JobStore.list` is a ``Scan`` filtered on the owner (claims have no owner; the console's
:meth:`JobStore.list_all` filters on having one), sorted and
paged in code: it reads the whole table, which is fine for the few thousand jobs a gateway
keeps within their retention, and is off the hot path (pollers ``get`` one job by key).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

from grokgate.errors import ConflictError
from grokgate.stores.dynamo_calls import DynamoCalls, Rejected, make_table
from grokgate.stores.dynamo_codec import Expr, from_item, plain, to_item, value
from grokgate.stores.failures import unavailable
from grokgate.stores.jobs import Job, JobPage, JobStatus, JobStore, job_doc, paginate

__all__ = ["TTL_ATTRIBUTE", "DynamoJobStore", "create_jobs_table"]

KEY = "id"
TTL_ATTRIBUTE = "expiration"
_CANCELLED = "TransactionCanceledException"
_ATTEMPTS = 5


def create_jobs_table(client: Any, table: str) -> None:
    """Create the jobs table (on-demand, TTL on ``expiration``), as ``template.yaml`` does."""
    make_table(client, table, {KEY: "S"}, ttl_attribute=TTL_ATTRIBUTE)


def _idem_id(owner: str, key: str) -> str:
    return f"idem#{owner}#{key}"


def _ttl(expires_at: float) -> int:
    return math.ceil(expires_at)


def _job_item(job: Job) -> dict[str, Any]:
    item = to_item(job_doc(job))
    if job.expires_at is not None:
        item[TTL_ATTRIBUTE] = value(_ttl(job.expires_at))
    return item


def _decode(item: dict[str, Any]) -> Job:
    doc = from_item(item)
    doc.pop(TTL_ATTRIBUTE, None)
    return Job.model_validate(doc)


class DynamoJobStore(JobStore):
    def __init__(
        self,
        table: str,
        client: Any | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock)
        self.table = table
        self._calls = DynamoCalls(table, client, client_factory=client_factory)

    # --- reads -----------------------------------------------------------------------------

    async def _get_item(self, item_id: str) -> dict[str, Any] | None:
        out = await self._calls.call(
            "get_item", TableName=self.table, Key={KEY: value(item_id)}, ConsistentRead=True
        )
        return out.get("Item") or None

    async def _load(self, job_id: str) -> Job | None:
        item = await self._get_item(job_id)
        return _decode(item) if item else None

    async def _page(
        self, owner: str, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        return await self._scan(owner, cursor, limit, descending)

    async def _page_all(
        self, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        return await self._scan(None, cursor, limit, descending)

    async def _scan(
        self, owner: str | None, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        """A full scan filtered on the owner, or on having one (claims have none)."""
        jobs: list[Job] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": True,
            "FilterExpression": "attribute_exists(#owner)",
            "ExpressionAttributeNames": {"#owner": "owner"},
        }
        if owner is not None:
            kwargs["FilterExpression"] = "#owner = :owner"
            kwargs["ExpressionAttributeValues"] = {":owner": value(owner)}
        while True:
            out = await self._calls.call("scan", **kwargs)
            jobs.extend(_decode(item) for item in out.get("Items", []))
            start = out.get("LastEvaluatedKey")
            if not start:
                return paginate(jobs, cursor, limit, descending)
            kwargs["ExclusiveStartKey"] = start

    # --- writes ----------------------------------------------------------------------------

    async def _insert(self, job: Job) -> tuple[Job, bool]:
        item = _job_item(job)
        if job.idempotency_key is None:
            try:
                await self._calls.call(
                    "put_item",
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": KEY},
                )
            except Rejected as exc:
                raise ConflictError(f"a job with id {job.id!r} exists already") from exc
            return job, True
        return await self._insert_claimed(job, item, _idem_id(job.owner, job.idempotency_key))

    async def _insert_claimed(
        self, job: Job, item: dict[str, Any], idem_id: str
    ) -> tuple[Job, bool]:
        claim = {KEY: value(idem_id), "job_id": value(job.id)}
        if job.expires_at is not None:
            claim[TTL_ATTRIBUTE] = value(_ttl(job.expires_at))
        absent = {"ConditionExpression": "attribute_not_exists(#k)"}
        names = {"ExpressionAttributeNames": {"#k": KEY}}
        for attempt in range(_ATTEMPTS):
            try:
                await self._calls.call(
                    "transact_write_items",
                    tolerate=(_CANCELLED,),
                    TransactItems=[
                        {"Put": {"TableName": self.table, "Item": item, **absent, **names}},
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": claim,
                                **absent,
                                **names,
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        },
                    ],
                )
                return job, True
            except Rejected as rejected:
                reasons = [*(rejected.response.get("CancellationReasons") or []), {}, {}]
                job_reason, claim_reason = reasons[0], reasons[1]
            if claim_reason.get("Code") == "ConditionalCheckFailed":
                holder = claim_reason.get("Item") or await self._get_item(idem_id)
                existing = await self._claim_holder(idem_id, holder)
                if existing is not None:
                    return existing, False
            elif job_reason.get("Code") == "ConditionalCheckFailed":
                raise ConflictError(f"a job with id {job.id!r} exists already")
            # A concurrent transaction on the same items (TransactionConflict), or a claim
            # that was freed meanwhile: try again.
            await asyncio.sleep(0.02 * (attempt + 1))
        raise unavailable("create the job", detail=f"table {self.table!r}: contention on {job.id}")

    async def _claim_holder(self, idem_id: str, claim: dict[str, Any] | None) -> Job | None:
        """The job a claim names; a claim whose job is gone (deleted half-way, or removed by
        TTL first) is removed, so the caller's retry can take the key."""
        if not claim or "job_id" not in claim:
            return None
        job_id = plain(claim["job_id"])
        existing = await self._load(job_id)
        if existing is None:
            await self._free_claim(idem_id, job_id)
        return existing

    async def _free_claim(self, idem_id: str, job_id: str) -> None:
        with contextlib.suppress(Rejected):  # already freed, or claimed again by another job
            await self._calls.call(
                "delete_item",
                TableName=self.table,
                Key={KEY: value(idem_id)},
                ConditionExpression="#j = :j",
                ExpressionAttributeNames={"#j": "job_id"},
                ExpressionAttributeValues={":j": value(job_id)},
            )

    async def _update(
        self,
        job_id: str,
        fields: dict[str, Any],
        expected: frozenset[JobStatus] | None,
        now: float,
    ) -> Job | None:
        e = Expr()
        e.cond(f"attribute_exists({e.name(KEY)})")
        if expected is not None:
            statuses = ", ".join(e.val(s.value) for s in sorted(expected))
            e.cond(f"{e.name('status')} IN ({statuses})")
        for field, new in fields.items():
            e.set(e.name(field), e.val(new))
        e.set(e.name("updated_at"), e.val(now))
        if "expires_at" in fields:
            if fields["expires_at"] is None:
                e.remove(e.name(TTL_ATTRIBUTE))
            else:
                e.set(e.name(TTL_ATTRIBUTE), e.val(_ttl(fields["expires_at"])))
        try:
            out = await self._calls.call(
                "update_item", **e.request(self.table, KEY, job_id), ReturnValues="ALL_NEW"
            )
        except Rejected:
            return None
        after = _decode(out["Attributes"])
        if "expires_at" in fields and after.idempotency_key is not None:
            await self._expire_claim(after)
        return after

    async def _expire_claim(self, job: Job) -> None:
        """Give the job's claim the job's new ``expiration``, so TTL removes both."""
        assert job.idempotency_key is not None
        e = Expr()
        e.cond(f"{e.name('job_id')} = {e.val(job.id)}")
        if job.expires_at is None:
            e.remove(e.name(TTL_ATTRIBUTE))
        else:
            e.set(e.name(TTL_ATTRIBUTE), e.val(_ttl(job.expires_at)))
        claim_id = _idem_id(job.owner, job.idempotency_key)
        with contextlib.suppress(Rejected):  # the claim is gone: nothing to expire
            await self._calls.call("update_item", **e.request(self.table, KEY, claim_id))

    async def _delete(self, job_id: str) -> bool:
        out = await self._calls.call(
            "delete_item", TableName=self.table, Key={KEY: value(job_id)}, ReturnValues="ALL_OLD"
        )
        old = out.get("Attributes")
        if not old:
            return False
        doc = from_item(old)
        key = doc.get("idempotency_key")
        if isinstance(key, str):
            await self._free_claim(_idem_id(str(doc.get("owner", "")), key), job_id)
        return True
