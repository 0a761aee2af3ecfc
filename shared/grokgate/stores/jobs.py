"""The job store contract: asynchronous video generations (OpenAI's ``/v1/videos`` shape).

Jobs outlive the request that created them and the process that runs them, and every function
instance sees the same jobs: SQLite (:mod:`grokgate.stores.jobs_sqlite`) locally, DynamoDB
(:mod:`grokgate.stores.jobs_dynamodb`) in the cloud.

:class:`JobStore` owns the public operations and their validation and calls a few primitives
each backend implements atomically:

- creating a job claims its idempotency key ``(owner, idempotency_key)`` in the same atomic
  write, so two concurrent creates with one key yield one job (the loser gets the winner's job
  back and compares fingerprints itself);
- an update applies its changes only if the job exists and its status is one the caller
  expects (a state machine that conditions on the current status), and stamps ``updated_at``.
"""

from __future__ import annotations

import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grokgate.errors import InvalidRequestError

__all__ = [
    "MAX_LIST_LIMIT",
    "Job",
    "JobPage",
    "JobStatus",
    "JobStore",
    "apply_changes",
    "checked_changes",
    "new_job_id",
    "paginate",
]

MAX_LIST_LIMIT = 100
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_OWNER = re.compile(r"[\x21\x22\x24-\x7e]{0,256}")  # printable ASCII without '#' or space
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,256}")


class JobStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED})


class Job(BaseModel):
    """One job record. ``params`` and ``result`` hold JSON values; they round-trip exactly
    (ints stay ints, floats keep every bit) through every backend."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str  # "video_<32 hex>"
    kind: str = "video"
    owner: str = ""  # a hash naming the API key that created it ("" when auth is off)
    status: JobStatus = JobStatus.QUEUED
    progress: int = Field(0, ge=0, le=100)
    model: str
    prompt: str
    params: dict[str, Any] = Field(default_factory=dict)  # seconds, size, preset, references
    result: dict[str, Any] = Field(default_factory=dict)  # media keys, upstream video id
    error_code: str | None = None
    error_message: str | None = None
    account_id: str | None = None
    attempts: int = Field(0, ge=0)
    created_at: float
    updated_at: float
    started_at: float | None = None
    completed_at: float | None = None
    heartbeat_at: float | None = None
    expires_at: float | None = None  # when the record (and its media) may be deleted
    idempotency_key: str | None = None  # already hashed by the caller
    fingerprint: str | None = None  # hash of the request, to detect a key reused for another


JobPage = tuple[list[Job], bool]  # a page of jobs, and whether more follow

#: Fields an update may not change: the job's identity, its key, and what the store stamps.
IMMUTABLE_FIELDS = frozenset({"id", "kind", "owner", "created_at", "updated_at", "idempotency_key"})
_TEMPLATE: dict[str, Any] = {
    "id": "video_0",
    "model": "",
    "prompt": "",
    "created_at": 0.0,
    "updated_at": 0.0,
}


def new_job_id(kind: str = "video") -> str:
    """A fresh job id: ``<kind>_<32 hex>``."""
    return f"{kind}_{uuid.uuid4().hex}"


def job_doc(job: Job) -> dict[str, Any]:
    """The JSON document a backend stores."""
    return job.model_dump(mode="json")


def checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` validated against :class:`Job` and converted to JSON values.

    Raises ValueError (a programming error, not a client's) for unknown or immutable fields and
    for values of the wrong type.
    """
    unknown = sorted(set(changes) - set(Job.model_fields))
    if unknown:
        raise ValueError(f"not fields of a job: {', '.join(unknown)}")
    fixed = sorted(set(changes) & IMMUTABLE_FIELDS)
    if fixed:
        raise ValueError(f"an update may not change: {', '.join(fixed)}")
    checked = Job.model_validate({**_TEMPLATE, **changes})
    return checked.model_dump(mode="json", include=set(changes))


def apply_changes(job: Job, fields: Mapping[str, Any], now: float) -> Job:
    """``job`` with checked ``fields`` applied and ``updated_at = now``."""
    return Job.model_validate({**job_doc(job), **fields, "updated_at": now})


def paginate(
    jobs: Iterable[Job], cursor: tuple[float, str] | None, limit: int, descending: bool
) -> JobPage:
    """One page of ``jobs`` ordered by (created_at, id), strictly after ``cursor``."""
    ordered = sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=descending)
    if cursor is not None:
        if descending:
            ordered = [j for j in ordered if (j.created_at, j.id) < cursor]
        else:
            ordered = [j for j in ordered if (j.created_at, j.id) > cursor]
    return ordered[:limit], len(ordered) > limit


def valid_job_id(job_id: str) -> bool:
    return isinstance(job_id, str) and _JOB_ID.fullmatch(job_id) is not None


class JobStore(ABC):
    """Public operations on jobs; backends implement the ``_`` primitives atomically."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    async def create(self, job: Job) -> tuple[Job, bool]:
        """Insert ``job``; returns it and True.

        If ``job.idempotency_key`` is set and a job of the same owner already holds that key,
        returns (that job, False) and inserts nothing, atomically. A job id that exists
        already raises :class:`~grokgate.errors.ConflictError`.
        """
        if not valid_job_id(job.id):
            raise InvalidRequestError("a job id may only contain letters, digits, '_', '-'")
        if not _OWNER.fullmatch(job.owner):
            raise InvalidRequestError("a job owner must be printable ASCII without '#'")
        key = job.idempotency_key
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            raise InvalidRequestError(
                "an idempotency key must be 1-256 printable ASCII characters",
                param="idempotency_key",
            )
        return await self._insert(job)

    async def get(self, job_id: str) -> Job | None:
        if not valid_job_id(job_id):
            return None
        return await self._load(job_id)

    async def list(
        self,
        owner: str,
        *,
        after: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> JobPage:
        """``owner``'s jobs by (created_at, id), newest first for ``desc``; the page and whether
        more follow. ``after`` is the id of the last job of the previous page: an id that is not
        one of ``owner``'s jobs (any more) raises InvalidRequestError."""
        cursor = await self._cursor(owner, after, limit, order)
        return await self._page(owner, cursor, limit, order == "desc")

    async def list_all(
        self,
        *,
        after: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> JobPage:
        """Every owner's jobs (the console's admin view), ordered and paged like :meth:`list`;
        ``after`` is the id of any job. Off the hot path: a backend may read everything."""
        cursor = await self._cursor(None, after, limit, order)
        return await self._page_all(cursor, limit, order == "desc")

    async def _cursor(
        self, owner: str | None, after: str | None, limit: int, order: str
    ) -> tuple[float, str] | None:
        """The arguments of a listing checked; the (created_at, id) to list after."""
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidRequestError("limit must be an integer", param="limit")
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequestError(f"limit must be 1 to {MAX_LIST_LIMIT}", param="limit")
        if order not in ("asc", "desc"):
            raise InvalidRequestError("order must be 'asc' or 'desc'", param="order")
        if after is None:
            return None
        anchor = await self.get(after)
        if anchor is None or (owner is not None and anchor.owner != owner):
            raise InvalidRequestError(f"no job {after!r} to list after", param="after")
        return anchor.created_at, anchor.id

    async def update(
        self,
        job_id: str,
        changes: Mapping[str, Any],
        *,
        expect: Collection[JobStatus] | None = None,
    ) -> Job | None:
        """Apply ``changes`` (fields of :class:`Job`; dicts are replaced whole) atomically if the
        job exists and ``expect`` is None or holds its status. ``updated_at`` is set here.

        Returns the job after, or None if it is missing or its status was not expected.
        """
        fields = checked_changes(changes)
        expected = None if expect is None else frozenset(JobStatus(s) for s in expect)
        if (expected is not None and not expected) or not valid_job_id(job_id):
            return None
        return await self._update(job_id, fields, expected, self.clock())

    async def delete(self, job_id: str) -> bool:
        """Remove the job and free its idempotency key; returns whether it existed."""
        if not valid_job_id(job_id):
            return False
        return await self._delete(job_id)

    async def sweep(self) -> int:
        """Delete the jobs whose ``expires_at`` has passed; how many. A backend with its own
        expiry (DynamoDB's TTL) deletes nothing here."""
        return await self._sweep(self.clock())

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""

    async def _sweep(self, now: float) -> int:
        return 0

    # --- primitives each backend implements atomically -----------------------------------

    @abstractmethod
    async def _insert(self, job: Job) -> tuple[Job, bool]:
        """Insert ``job`` and claim its idempotency key in one atomic write, or return the job
        holding the key. ConflictError if the id exists."""

    @abstractmethod
    async def _load(self, job_id: str) -> Job | None: ...

    @abstractmethod
    async def _page(
        self, owner: str, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        """:func:`paginate` over ``owner``'s jobs."""

    @abstractmethod
    async def _page_all(
        self, cursor: tuple[float, str] | None, limit: int, descending: bool
    ) -> JobPage:
        """:func:`paginate` over every owner's jobs."""

    @abstractmethod
    async def _update(
        self,
        job_id: str,
        fields: dict[str, Any],
        expected: frozenset[JobStatus] | None,
        now: float,
    ) -> Job | None:
        """Set ``fields`` (checked, JSON values) and ``updated_at = now`` if the job exists and
        its status is in ``expected`` (when given), in one atomic write."""

    @abstractmethod
    async def _delete(self, job_id: str) -> bool: ...
