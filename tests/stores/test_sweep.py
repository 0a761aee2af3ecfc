"""The sweeper's store half: expired local media files and expired SQLite jobs are deleted;
fresh ones stay. Time is an injected clock; file ages are set with ``os.utime``."""

from __future__ import annotations

import os
from pathlib import Path

from grokgate.stores.jobs import Job, new_job_id
from grokgate.stores.jobs_sqlite import SqliteJobStore
from grokgate.stores.media_local import LocalMediaStore
from tests.support import FakeClock

DAY = 86400.0
SECRET = b"s" * 32


def _age(path: Path, clock: FakeClock, seconds: float) -> None:
    when = clock.now - seconds
    os.utime(path, (when, when))


async def test_local_media_sweep_deletes_by_prefix_retention(
    tmp_path: Path, clock: FakeClock
) -> None:
    media = LocalMediaStore(tmp_path / "media", SECRET, clock=clock)
    await media.put("images/20260101/old.png", b"old", "image/png")
    await media.put("images/20260101/new.png", b"new", "image/png")
    await media.put("videos/video_1/video.mp4", b"vid", "video/mp4")
    root = tmp_path / "media"
    _age(root / "images/20260101/old.png", clock, 8 * DAY)
    _age(root / "images/20260101/new.png", clock, 1 * DAY)
    _age(root / "videos/video_1/video.mp4", clock, 3 * DAY)  # past the 2-day video retention

    removed = await media.sweep({"videos": 2 * DAY}, 7 * DAY)

    assert removed == 2
    assert await media.get("images/20260101/old.png") is None
    assert await media.get("videos/video_1/video.mp4") is None
    assert await media.get("images/20260101/new.png") == (b"new", "image/png")
    assert not (root / "images/20260101/.old.png.type").exists()  # its sidecar went too
    assert not (root / "videos").exists()  # folders left empty are removed
    assert (root / "images/20260101/.new.png.type").exists()


async def test_local_media_sweep_removes_only_stale_temporary_files(
    tmp_path: Path, clock: FakeClock
) -> None:
    media = LocalMediaStore(tmp_path / "media", SECRET, clock=clock)
    await media.put("images/a.png", b"a", "image/png")
    folder = tmp_path / "media" / "images"
    stale, fresh = folder / ".b.png.1.tmp", folder / ".c.png.2.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    _age(stale, clock, 2 * 3600)
    _age(fresh, clock, 60)  # a write in progress

    assert await media.sweep({}, 7 * DAY) == 0
    assert not stale.exists() and fresh.exists()
    assert await media.get("images/a.png") == (b"a", "image/png")


async def test_local_media_sweep_of_a_missing_folder_is_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    media = LocalMediaStore(tmp_path / "never-written", SECRET, clock=clock)
    assert await media.sweep({}, 1.0) == 0


def _job(clock: FakeClock, expires_at: float | None) -> Job:
    return Job(
        id=new_job_id(),
        owner="o",
        model="grok-imagine-video",
        prompt="p",
        created_at=clock.now,
        updated_at=clock.now,
        expires_at=expires_at,
    )


async def test_sqlite_job_sweep_deletes_expired_jobs(tmp_path: Path, clock: FakeClock) -> None:
    jobs = SqliteJobStore(tmp_path / "grokgate.db", clock=clock)
    try:
        expired = _job(clock, clock.now + 10)
        live = _job(clock, clock.now + 1000)
        forever = _job(clock, None)
        for item in (expired, live, forever):
            await jobs.create(item)
        clock.advance(10)  # ``expired`` expires now (its expiry is inclusive)

        assert await jobs.sweep() == 1
        assert await jobs.get(expired.id) is None
        assert await jobs.get(live.id) is not None
        assert await jobs.get(forever.id) is not None
        assert await jobs.sweep() == 0
    finally:
        await jobs.close()
