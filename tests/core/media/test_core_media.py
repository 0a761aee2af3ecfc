"""Media services without servers: sizes → ratios, request checks, job settling, the worker's
endings, and Imagine quota windows read from quota_info."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grokgate.core.accounts.quota import QuotaSync, media_quota
from grokgate.core.media.images import ImageRequest, aspect_ratio, check_request
from grokgate.core.media.runners import LocalRunner
from grokgate.core.media.videos import (
    IdempotencyMismatchError,
    VideoRequest,
    VideoService,
    parse_seconds,
)
from grokgate.core.registry import resolve
from grokgate.errors import InvalidRequestError
from grokgate.stores.jobs import JobStatus
from grokgate.stores.jobs_sqlite import SqliteJobStore
from grokgate.stores.media_local import LocalMediaStore
from grokgate.stores.records import ModeQuota, QuotaSource, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.files import Attachment
from tests.support import FakeClock


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        (None, "2:3"),
        ("auto", "2:3"),
        ("1024x1024", "1:1"),
        ("1792x1024", "3:2"),
        ("1024x1792", "2:3"),
        ("1280x720", "16:9"),
        ("720x1280", "9:16"),
        ("1536x1024", "3:2"),
        ("16:9", "16:9"),
        ("19.5:9", "19.5:9"),
    ],
)
def test_sizes_become_grok_aspect_ratios(size: str | None, ratio: str) -> None:
    assert aspect_ratio(size) == ratio


@pytest.mark.parametrize("size", ["999x999", "big", "1024X1024", "0:0"])
def test_unknown_sizes_are_400s(size: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        aspect_ratio(size)
    assert caught.value.param == "size"


@pytest.mark.parametrize(
    ("model", "n", "prompt", "inputs", "param"),
    [
        ("grok-imagine-image", 0, "x", 0, "n"),
        ("grok-imagine-image", 11, "x", 0, "n"),
        ("grok-imagine-image-lite", 5, "x", 0, "n"),
        ("grok-imagine-image-edit", 3, "x", 1, "n"),
        ("grok-imagine-image-edit", 1, "x", 0, "image"),
        ("grok-imagine-image", 1, "   ", 0, "prompt"),
        ("grok-4.20-fast", 1, "x", 0, "model"),
        ("grok-imagine-video", 1, "x", 0, "model"),
    ],
)
def test_image_request_checks(model: str, n: int, prompt: str, inputs: int, param: str) -> None:
    pics = tuple(Attachment("a.png", "image/png", b"\x89PNG") for _ in range(inputs))
    with pytest.raises(InvalidRequestError) as caught:
        check_request(ImageRequest(resolve(model), prompt, n=n, inputs=pics))
    assert caught.value.param == param


@pytest.mark.parametrize(("value", "seconds"), [("6", 6), (10, 10), (" 15 ", 15), ("1", 1)])
def test_seconds(value: object, seconds: int) -> None:
    assert parse_seconds(value) == seconds


@pytest.mark.parametrize("value", ["0", "16", "six", True, 6.5, None])
def test_bad_seconds(value: object) -> None:
    with pytest.raises(InvalidRequestError):
        parse_seconds(value)


@dataclass
class Services:
    videos: VideoService
    jobs: SqliteJobStore
    clock: FakeClock
    submitted: list[str]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    clock = FakeClock()
    jobs = SqliteJobStore(tmp_path / "jobs.db", clock=clock)
    media = LocalMediaStore(tmp_path / "media", b"k" * 32, clock=clock)
    submitted: list[str] = []

    async def work(job_id: str) -> None:
        submitted.append(job_id)

    runner = LocalRunner(work)
    videos = VideoService(jobs, media, runner, stale_seconds=60, queue_seconds=120, clock=clock)
    yield Services(videos, jobs, clock, submitted)
    await runner.drain()
    await jobs.close()


def _video(prompt: str = "waves", **kw: object) -> VideoRequest:
    return VideoRequest(resolve("grok-imagine-video"), prompt, **kw)  # type: ignore[arg-type]


async def test_a_queued_job_nobody_starts_fails_with_a_reason(services: Services) -> None:
    job = await services.videos.create(_video(), owner="o")
    assert job.status is JobStatus.QUEUED
    services.clock.advance(121)
    settled = await services.videos.get(job.id, owner="o")
    assert settled.status is JobStatus.FAILED and settled.error_code == "not_started"


async def test_a_running_job_whose_heartbeat_stops_fails(services: Services) -> None:
    job = await services.videos.create(_video(), owner="o")
    now = services.clock.now
    await services.jobs.update(
        job.id,
        {"status": JobStatus.IN_PROGRESS, "started_at": now, "heartbeat_at": now},
    )
    services.clock.advance(59)
    assert (await services.videos.get(job.id, owner="o")).status is JobStatus.IN_PROGRESS
    services.clock.advance(2)
    listed, _ = await services.videos.list(owner="o")
    assert [j.error_code for j in listed] == ["worker_lost"]


async def test_idempotency_and_owners(services: Services) -> None:
    first = await services.videos.create(_video(), owner="a", idempotency_key="k")
    again = await services.videos.create(_video(), owner="a", idempotency_key="k")
    other = await services.videos.create(_video(), owner="b", idempotency_key="k")
    assert again.id == first.id and other.id != first.id
    await services.videos.runner.drain()  # type: ignore[attr-defined]
    assert services.submitted == [first.id, other.id]
    with pytest.raises(IdempotencyMismatchError) as caught:  # the same key, another request
        await services.videos.create(_video("other"), owner="a", idempotency_key="k")
    assert caught.value.status == 422
    with pytest.raises(InvalidRequestError):
        await services.videos.create(_video(size="640x640"), owner="a")
    ref = Attachment("r.png", "image/png", b"\x89PNG\r\n\x1a\n")
    with pytest.raises(InvalidRequestError):  # image to video: 6 or 10 s segments
        await services.videos.create(_video(seconds=12, reference=ref), owner="a")


@dataclass
class Window:
    available: bool
    remaining: int
    window: float
    next_available_at: float | None = None


def test_quota_info_windows_become_quotas() -> None:
    now = 1000.0
    q = media_quota(Window(True, 7, 86400), None, now)
    assert (q.remaining, q.total, q.reset_at, q.source) == (7, 7, now + 86400, QuotaSource.UPSTREAM)
    stored = ModeQuota(remaining=3, total=20, window=86400)
    spent = media_quota(Window(False, 0, 86400, now + 50), stored, now)
    assert (spent.remaining, spent.total, spent.reset_at) == (0, 20, now + 50)


class _Imagine:
    def __init__(self, windows: dict[str, object]) -> None:
        self.windows = windows

    async def imagine_quota(self, account: object) -> dict[str, object]:
        return self.windows

    async def rate_limits(self, account: object, mode: str) -> object:  # unused here
        raise AssertionError


async def test_sync_media_stores_reported_groups_and_keeps_a_429(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteAccountStore(tmp_path / "a.db", clock=clock)
    account, _ = await store.add_account("tok-media-sync", Tier.BASIC)
    held = ModeQuota(
        remaining=0, total=0, window=86400, reset_at=clock.now + 30, source=QuotaSource.ESTIMATED
    )
    await store.sync_quotas(account.id, {"video": held})
    account = await store.get_account(account.id)
    assert account is not None
    windows = {"image": Window(True, 5, 86400), "imagePro": None, "video": Window(True, 9, 86400)}
    sync = QuotaSync(store, _Imagine(windows), clock=clock, imagine=_Imagine(windows))
    after = await sync.sync_mode(account, "image")  # an Imagine group reads quota_info
    assert after is not None
    assert after.quotas["image"].remaining == 5 and "imagePro" not in after.quotas
    assert after.quotas["video"] == held  # grok's Retry-After stands
    assert after.quotas["fast"] == account.quotas["fast"]
    await store.close()
