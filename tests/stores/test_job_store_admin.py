"""``JobStore.list_all``: every owner's jobs in one listing (the console's admin view), on
SQLite and DynamoDB, ordered and paged like ``list``; idempotency claims are never listed."""

from __future__ import annotations

from typing import Any

import pytest

from grokgate.errors import InvalidRequestError
from grokgate.stores.jobs import Job, JobStore, new_job_id
from tests.stores.test_job_store import job, jobs, make_jobs  # noqa: F401 - fixtures
from tests.support import FakeClock


async def test_list_all_spans_owners_in_order_and_pages(
    jobs: JobStore,  # noqa: F811
    clock: FakeClock,
) -> None:
    made: list[Job] = []
    for index, owner in enumerate(["owner-a", "owner-b", "", "owner-a", "owner-c"]):
        key = f"k{index}" if index % 2 else None  # some hold idempotency claims
        made.append((await jobs.create(job(clock, owner=owner, idempotency_key=key)))[0])
        clock.advance(1)
    page, more = await jobs.list_all()
    assert page == made[::-1] and more is False
    page, more = await jobs.list_all(order="asc")
    assert page == made and more is False
    seen: list[Job] = []
    after: str | None = None
    while True:
        page, more = await jobs.list_all(after=after, limit=2)
        seen.extend(page)
        if not more:
            break
        after = page[-1].id
    assert seen == made[::-1]
    page, more = await jobs.list_all(after=made[1].id, limit=2, order="asc")
    assert page == made[2:4] and more is True


async def test_list_all_of_an_empty_store(jobs: JobStore) -> None:  # noqa: F811
    assert await jobs.list_all() == ([], False)


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 101}, {"order": "sideways"}, {"after": new_job_id()}]
)
async def test_list_all_refuses_bad_arguments(
    jobs: JobStore,  # noqa: F811
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises(InvalidRequestError):
        await jobs.list_all(**kwargs)
