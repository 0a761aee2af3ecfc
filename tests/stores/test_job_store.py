"""The JobStore contract, run against SQLite and DynamoDB (moto's server over real HTTP).

Every store object a test makes through ``make_jobs`` shares one storage (one file, one table)
with its own connection or client, the way two Lambda instances share the jobs table.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from grokgate.config import Settings
from grokgate.errors import ConflictError, InvalidRequestError
from grokgate.stores.jobs import Job, JobStatus, JobStore, new_job_id
from grokgate.stores.jobs_dynamodb import DynamoJobStore, create_jobs_table
from grokgate.stores.jobs_sqlite import SqliteJobStore
from grokgate.stores.open import open_job_store
from grokgate.stores.sqlite import SqliteAccountStore
from tests.support import FakeClock, aws_client

JobsFactory = Callable[[], JobStore]


def new_jobs_table(endpoint: str) -> str:
    name = f"grokgate-jobs-test-{uuid.uuid4().hex[:12]}"
    create_jobs_table(aws_client("dynamodb", endpoint), name)
    return name


@pytest.fixture(params=["sqlite", "dynamodb"])
async def make_jobs(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[JobsFactory]:
    made: list[JobStore] = []
    if request.param == "sqlite":
        path = tmp_path / "jobs" / "grokgate.db"
        factory: JobsFactory = partial(SqliteJobStore, path, clock=clock)
    else:
        endpoint: str = request.getfixturevalue("moto_endpoint")
        table = new_jobs_table(endpoint)

        def factory() -> JobStore:
            return DynamoJobStore(table, aws_client("dynamodb", endpoint), clock=clock)

    def make() -> JobStore:
        made.append(factory())
        return made[-1]

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def jobs(make_jobs: JobsFactory) -> JobStore:
    return make_jobs()


def job(clock: FakeClock, owner: str = "owner-a", **values: Any) -> Job:
    fields = {"id": new_job_id(), "owner": owner, "model": "grok-imagine-video", "prompt": "a cat"}
    return Job(**{**fields, "created_at": clock.now, "updated_at": clock.now, **values})


# --- create / get ----------------------------------------------------------------------------


async def test_create_then_get_round_trips_every_field(jobs: JobStore, clock: FakeClock) -> None:
    original = job(
        clock,
        params={
            **{"seconds": 6, "ratio": 0.1 + 0.2, "tiny": 1e-7, "third": 1 / 3, "huge": 10**30},
            **{"flag": True, "none": None, "text": "vidéo 🎬"},
            "nested": {"size": "1280x720", "list": [1, 2.5, "x", {"deep": []}]},
        },
        **{"result": {"video_key": "videos/x/video.mp4"}, "progress": 42, "attempts": 2},
        **{"status": JobStatus.IN_PROGRESS, "account_id": "acct-1", "error_message": "-"},
        **{"started_at": clock.now + 0.123456789, "heartbeat_at": clock.now + 1.5},
        **{"expires_at": clock.now + 86400.25, "idempotency_key": "hk", "fingerprint": "fp"},
    )
    stored, created = await jobs.create(original)
    assert created is True
    assert stored == original
    again = await jobs.get(original.id)
    assert again == original
    assert again is not None and type(again.params["seconds"]) is int
    assert type(again.params["huge"]) is int and type(again.params["ratio"]) is float


@pytest.mark.parametrize("job_id", [new_job_id(), "idem#owner-a#k", "../etc/passwd", ""])
async def test_unknown_or_malformed_ids(jobs: JobStore, job_id: str) -> None:
    assert await jobs.get(job_id) is None
    assert await jobs.update(job_id, {"progress": 1}) is None
    assert await jobs.delete(job_id) is False


async def test_an_existing_id_is_a_conflict(jobs: JobStore, clock: FakeClock) -> None:
    first = job(clock)
    await jobs.create(first)
    with pytest.raises(ConflictError):
        await jobs.create(first.model_copy(update={"prompt": "other"}))
    with pytest.raises(ConflictError):
        await jobs.create(first.model_copy(update={"idempotency_key": "k"}))
    assert await jobs.get(first.id) == first


MALFORMED = [{"id": "video/../x"}, {"id": "idem#x"}, {"owner": "a#b"}, {"idempotency_key": ""}]


@pytest.mark.parametrize("values", MALFORMED)
async def test_malformed_jobs_are_refused(
    jobs: JobStore, clock: FakeClock, values: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequestError):
        await jobs.create(job(clock, **values))


# --- idempotency -----------------------------------------------------------------------------


async def test_idempotent_create_returns_the_first_job(jobs: JobStore, clock: FakeClock) -> None:
    first, created = await jobs.create(job(clock, idempotency_key="k1", fingerprint="a"))
    assert created is True
    clock.advance(5)
    second, created = await jobs.create(job(clock, idempotency_key="k1", fingerprint="b"))
    assert created is False
    assert second == first  # the caller compares fingerprints
    assert (await jobs.list("owner-a"))[0] == [first]


async def test_keys_are_per_owner(jobs: JobStore, clock: FakeClock) -> None:
    a, _ = await jobs.create(job(clock, owner="owner-a", idempotency_key="k"))
    b, created = await jobs.create(job(clock, owner="owner-b", idempotency_key="k"))
    assert created is True and b.id != a.id
    c, created = await jobs.create(job(clock, owner="owner-a", idempotency_key="k2"))
    assert created is True and c.id != a.id
    d, created = await jobs.create(job(clock, owner="owner-a"))  # no key: always new
    e, created_again = await jobs.create(job(clock, owner="owner-a"))
    assert created and created_again and d.id != e.id


async def test_concurrent_creates_with_one_key_yield_one_job(
    make_jobs: JobsFactory, clock: FakeClock
) -> None:
    stores = [make_jobs(), make_jobs()]
    attempts = [job(clock, idempotency_key="same", fingerprint=str(i)) for i in range(8)]
    results = await asyncio.gather(
        *(stores[i % 2].create(attempt) for i, attempt in enumerate(attempts))
    )
    assert sum(created for _, created in results) == 1
    assert len({j.id for j, _ in results}) == 1
    winner = next(j for j, created in results if created)
    assert all(j == winner for j, _ in results)
    page, _ = await stores[0].list("owner-a")
    assert page == [winner]


async def test_delete_frees_the_key(jobs: JobStore, clock: FakeClock) -> None:
    first, _ = await jobs.create(job(clock, idempotency_key="k"))
    assert await jobs.delete(first.id) is True
    assert await jobs.get(first.id) is None
    assert await jobs.delete(first.id) is False
    second, created = await jobs.create(job(clock, idempotency_key="k"))
    assert created is True and second.id != first.id
    third, created = await jobs.create(job(clock, idempotency_key="k"))
    assert created is False and third == second


# --- update ----------------------------------------------------------------------------------


async def test_update_applies_changes_and_stamps_updated_at(
    jobs: JobStore, clock: FakeClock
) -> None:
    original, _ = await jobs.create(job(clock, params={"seconds": 6}))
    clock.advance(7.5)
    changes = {"status": JobStatus.IN_PROGRESS, "progress": 10, "started_at": clock.now}
    changes |= {"account_id": "acct", "attempts": 1, "result": {"upstream_id": "u-1", "n": 2.25}}
    after = await jobs.update(original.id, changes)
    assert after is not None
    assert after.status is JobStatus.IN_PROGRESS
    assert (after.progress, after.account_id, after.attempts) == (10, "acct", 1)
    assert after.started_at == clock.now and after.updated_at == clock.now
    assert after.result == {"upstream_id": "u-1", "n": 2.25}
    assert after.params == {"seconds": 6} and after.created_at == original.created_at
    assert await jobs.get(original.id) == after


async def test_update_respects_expect(jobs: JobStore, clock: FakeClock) -> None:
    original, _ = await jobs.create(job(clock))
    clock.advance(1)
    running = [JobStatus.IN_PROGRESS]
    assert await jobs.update(original.id, {"status": "completed"}, expect=running) is None
    assert await jobs.get(original.id) == original  # untouched, updated_at included
    assert await jobs.update(original.id, {"progress": 5}, expect=()) is None
    started = await jobs.update(
        original.id,
        {"status": JobStatus.IN_PROGRESS},
        expect=[JobStatus.QUEUED, JobStatus.IN_PROGRESS],
    )
    assert started is not None and started.status is JobStatus.IN_PROGRESS
    done = await jobs.update(
        original.id,
        {"status": JobStatus.FAILED, "error_code": "moderated", "error_message": "withheld"},
        expect={JobStatus.IN_PROGRESS},
    )
    assert done is not None and (done.status, done.error_code) == (JobStatus.FAILED, "moderated")
    assert await jobs.update(original.id, {"progress": 1}, expect={JobStatus.QUEUED}) is None


async def test_concurrent_conditional_updates_let_one_win(
    make_jobs: JobsFactory, clock: FakeClock
) -> None:
    stores = [make_jobs(), make_jobs()]
    original, _ = await stores[0].create(job(clock))
    results = await asyncio.gather(
        *(
            stores[i % 2].update(
                original.id,
                {"status": JobStatus.IN_PROGRESS, "account_id": f"acct-{i}"},
                expect={JobStatus.QUEUED},
            )
            for i in range(8)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await stores[1].get(original.id) == winners[0]


BAD_CHANGES = [("nope", 1), ("id", "video_x"), ("owner", "o"), ("created_at", 1.0)]
BAD_CHANGES += [("updated_at", 1.0), ("idempotency_key", "k"), ("progress", 101), ("status", "x")]


@pytest.mark.parametrize(("field", "new"), BAD_CHANGES)
async def test_invalid_changes_are_a_programming_error(
    jobs: JobStore, clock: FakeClock, field: str, new: object
) -> None:
    original, _ = await jobs.create(job(clock))
    with pytest.raises(ValueError):
        await jobs.update(original.id, {field: new})
    assert await jobs.get(original.id) == original


async def test_expires_at_can_be_set_and_cleared(jobs: JobStore, clock: FakeClock) -> None:
    original, _ = await jobs.create(job(clock, idempotency_key="k"))
    later = await jobs.update(original.id, {"expires_at": clock.now + 3600.5})
    assert later is not None and later.expires_at == clock.now + 3600.5
    cleared = await jobs.update(original.id, {"expires_at": None})
    assert cleared is not None and cleared.expires_at is None
    assert await jobs.get(original.id) == cleared


# --- list ------------------------------------------------------------------------------------


async def test_list_orders_and_pages(jobs: JobStore, clock: FakeClock) -> None:
    made = []
    for _ in range(5):
        made.append((await jobs.create(job(clock)))[0])
        clock.advance(1)
    tied = [job(clock, id=f"video_{c * 32}") for c in "ba"]  # same created_at: by id
    for t in tied:
        await jobs.create(t)
    oldest_first = [*made, tied[1], tied[0]]

    page, more = await jobs.list("owner-a")
    assert page == oldest_first[::-1] and more is False
    page, more = await jobs.list("owner-a", order="asc")
    assert page == oldest_first and more is False

    seen: list[Job] = []
    after: str | None = None
    while True:
        page, more = await jobs.list("owner-a", after=after, limit=3)
        seen.extend(page)
        if not more:
            break
        after = page[-1].id
    assert seen == oldest_first[::-1]
    page, more = await jobs.list("owner-a", after=oldest_first[1].id, limit=2, order="asc")
    assert page == oldest_first[2:4] and more is True
    page, more = await jobs.list("owner-a", after=oldest_first[-1].id, order="asc")
    assert (page, more) == ([], False)


async def test_list_isolates_owners(jobs: JobStore, clock: FakeClock) -> None:
    a, _ = await jobs.create(job(clock, owner="owner-a", idempotency_key="k"))
    b, _ = await jobs.create(job(clock, owner="owner-b", idempotency_key="k"))
    unowned, _ = await jobs.create(job(clock, owner=""))
    assert (await jobs.list("owner-a"))[0] == [a]
    assert (await jobs.list("owner-b"))[0] == [b]
    assert (await jobs.list(""))[0] == [unowned]
    assert await jobs.list("owner-c") == ([], False)
    with pytest.raises(InvalidRequestError):
        await jobs.list("owner-a", after=b.id)  # another owner's job is no cursor


BAD_LISTS = [{"limit": 0}, {"limit": 101}, {"order": "sideways"}, {"after": new_job_id()}]


@pytest.mark.parametrize("kwargs", BAD_LISTS)
async def test_list_refuses_bad_arguments(jobs: JobStore, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        await jobs.list("owner-a", **kwargs)


# --- persistence -----------------------------------------------------------------------------


async def test_jobs_survive_reopening(make_jobs: JobsFactory, clock: FakeClock) -> None:
    first = make_jobs()
    created, _ = await first.create(job(clock, idempotency_key="k", params={"x": 0.7}))
    updated = await first.update(created.id, {"progress": 50})
    await first.close()
    second = make_jobs()
    assert await second.get(created.id) == updated
    again, was_created = await second.create(job(clock, idempotency_key="k"))
    assert was_created is False and again == updated
    assert (await second.list("owner-a"))[0] == [updated]


async def test_sqlite_shares_the_account_store_file(tmp_path: Path, clock: FakeClock) -> None:
    accounts = SqliteAccountStore(tmp_path / "grokgate.db", clock=clock)
    jobs = SqliteJobStore(tmp_path / "grokgate.db", clock=clock)
    try:
        await accounts.add_account("sso-token-for-the-shared-file")
        stored, _ = await jobs.create(job(clock))
        assert len(await accounts.list_accounts()) == 1 and await jobs.get(stored.id) == stored
    finally:
        await accounts.close()
        await jobs.close()


# --- DynamoDB items --------------------------------------------------------------------------


async def test_dynamodb_items_carry_a_ttl(moto_endpoint: str, clock: FakeClock) -> None:
    table = new_jobs_table(moto_endpoint)
    raw = aws_client("dynamodb", moto_endpoint)
    ttl = raw.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiration"
    store = DynamoJobStore(table, aws_client("dynamodb", moto_endpoint), clock=clock)
    created, _ = await store.create(
        job(clock, owner="o", idempotency_key="k", expires_at=clock.now + 10.5)
    )

    def item(item_id: str) -> dict[str, Any]:
        return raw.get_item(TableName=table, Key={"id": {"S": item_id}}).get("Item", {})

    assert item(created.id)["expiration"] == {"N": str(math.ceil(clock.now + 10.5))}
    assert item("idem#o#k")["job_id"] == {"S": created.id}
    assert item("idem#o#k")["expiration"] == item(created.id)["expiration"]
    await store.update(created.id, {"expires_at": clock.now + 99})
    assert item(created.id)["expiration"] == {"N": str(int(clock.now + 99))}
    assert item("idem#o#k")["expiration"] == item(created.id)["expiration"]
    await store.update(created.id, {"expires_at": None})
    assert "expiration" not in item(created.id) and "expiration" not in item("idem#o#k")
    await store.delete(created.id)
    assert item("idem#o#k") == {}


async def test_dynamodb_claim_of_a_vanished_job_is_taken_over(
    moto_endpoint: str, clock: FakeClock
) -> None:
    table = new_jobs_table(moto_endpoint)
    store = DynamoJobStore(table, aws_client("dynamodb", moto_endpoint), clock=clock)
    first, _ = await store.create(job(clock, idempotency_key="k"))
    raw = aws_client("dynamodb", moto_endpoint)  # TTL removed the job, not yet its claim
    raw.delete_item(TableName=table, Key={"id": {"S": first.id}})
    second, created = await store.create(job(clock, idempotency_key="k"))
    assert created is True and second.id != first.id
    assert (await store.create(job(clock, idempotency_key="k")))[0] == second


# --- open_job_store --------------------------------------------------------------------------


def test_open_job_store(tmp_path: Path) -> None:
    local = open_job_store(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    assert isinstance(local, SqliteJobStore) and local.path == tmp_path / "grokgate.db"
    values: dict[str, Any] = {"store": "dynamodb", "dynamodb_jobs_table": "jobs-t"}
    cloud = open_job_store(Settings(_env_file=None, **values))
    assert isinstance(cloud, DynamoJobStore) and cloud.table == "jobs-t"
    default = open_job_store(Settings(_env_file=None, store="dynamodb"))  # type: ignore[call-arg]
    assert isinstance(default, DynamoJobStore) and default.table == "grokgate-jobs"
