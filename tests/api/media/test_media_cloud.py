"""The media flows as deployed: accounts and jobs in DynamoDB, files in S3 (moto's server over
real HTTP), and each video job handed to an asynchronous invocation of the videos function.

A small fake of Lambda's Invoke API stands in for Lambda: it answers 202 to
``InvocationType=Event`` at once and then runs ``functions/videos/handler.py`` in a fresh
process with the function's environment, as Lambda would.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from grokgate.api.app import create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.uploads import tiny_png
from grokgate.stores.dynamodb import create_table
from grokgate.stores.jobs_dynamodb import create_jobs_table
from tests.conftest import gateway_settings
from tests.functions.lambda_fakes import FakeLambda
from tests.sdk import openai_client as client
from tests.support import API_KEY, Sim, aws_client

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks Sora


@pytest.fixture
def cloud(
    sim: Sim, moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, FakeLambda]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    suffix = uuid.uuid4().hex[:10]
    accounts, jobs, bucket = f"gg-acc-{suffix}", f"gg-jobs-{suffix}", f"gg-media-{suffix}"
    create_table(aws_client("dynamodb", moto_endpoint), accounts)
    create_jobs_table(aws_client("dynamodb", moto_endpoint), jobs)
    aws_client("s3", moto_endpoint).create_bucket(Bucket=bucket)
    overrides: dict[str, object] = {
        "store": "dynamodb",
        "dynamodb_table": accounts,
        "dynamodb_jobs_table": jobs,
        "media": "s3",
        "media_bucket": bucket,
        "aws_region": "us-east-1",
        "aws_endpoint_url": moto_endpoint,
    }
    base = gateway_settings(sim.url, tmp_path / "fn", **overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    for field, value in base.model_dump().items():
        if value is None or field in ("api_keys", "sso_tokens"):
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        env[f"GROKGATE_{field.upper()}"] = str(value)
    env["GROKGATE_SSO_TOKENS"] = ",".join(t.get_secret_value() for t in base.sso_tokens)
    env["PYTHONPATH"] = str(ROOT / "shared")
    fake = FakeLambda(env)
    with ServerThread(fake.app) as lam:
        settings = gateway_settings(
            sim.url,
            tmp_path / "gw",
            **overrides,
            video_worker_function="grokgate-videos",
            lambda_endpoint_url=lam.url,
        )
        with ServerThread(create_app(settings=settings)) as gw:
            yield gw.url, bucket, fake


def _presigned(url: str, bucket: str) -> None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path.startswith(f"/{bucket}/")
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "X-Amz-Signature" in query and "X-Amz-Expires" in query


def test_images_are_presigned_s3_urls_anyone_can_open(
    cloud: tuple[str, str, FakeLambda], sim: Sim
) -> None:
    base, bucket, _ = cloud
    out = client(base).images.generate(model="grok-imagine-image", prompt="a fox", n=2)
    assert out.data is not None and len(out.data) == 2
    made = {a.data for a in sim.state.media.assets.values()}
    for image in out.data:
        assert image.url
        _presigned(image.url, bucket)
        got = httpx.get(image.url, timeout=10)  # anonymous: no AWS credentials, no API key
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        assert got.content in made
    png = tiny_png()
    edited = client(base).images.edit(
        image=[("a.png", png, "image/png"), ("b.png", png, "image/png")], prompt="blue"
    )
    assert edited.data is not None
    _presigned(edited.data[0].url or "", bucket)
    assert httpx.get(edited.data[0].url or "", timeout=10).content in {
        a.data for a in sim.state.media.assets.values()
    }
    b64 = client(base).images.generate(prompt="a cat", response_format="b64_json")
    assert b64.data and base64.b64decode(b64.data[0].b64_json or "")[:3] == b"\xff\xd8\xff"


def test_a_video_runs_in_an_async_invocation_and_downloads_from_s3(
    cloud: tuple[str, str, FakeLambda], sim: Sim
) -> None:
    base, bucket, fake = cloud
    c = client(base)
    started = time.monotonic()
    video = c.videos.create(prompt="the sea at night")
    assert video.status == "queued" and time.monotonic() - started < 5  # returned at once
    assert fake.calls == [("grokgate-videos", "Event", {"grokgate_video_job": video.id})]
    deadline = time.monotonic() + 60
    while (current := c.videos.retrieve(video.id)).status not in ("completed", "failed"):
        assert time.monotonic() < deadline, current
        time.sleep(0.2)
    assert current.status == "completed", (current.error, [r.stdout + r.stderr for r in fake.runs])
    first = httpx.get(
        f"{base}/v1/videos/{video.id}/content",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert first.status_code == 302
    _presigned(first.headers["location"], bucket)
    (path,) = sim.state.media.videos.values()
    expected = sim.state.media.asset(path)
    assert expected is not None
    assert httpx.get(first.headers["location"], timeout=10).content == expected.data
    assert c.videos.download_content(video.id).content == expected.data  # the SDK follows it
    while not fake.runs:  # the worker process exits just after writing the job
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (run,) = fake.runs
    assert run.returncode == 0, run.stderr
