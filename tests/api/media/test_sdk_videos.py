"""Video jobs through the official openai SDK against a live gateway → the grok.com simulator:
create → poll → download, image to video, idempotency, deletion, listing, failures, and a job
that survives its server being killed."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import openai
import pytest

from grokgate.simulator.uploads import tiny_png
from tests.sdk import openai_client as client
from tests.support import API_KEY, GatewayFactory, Sim, serve_process


@pytest.fixture(params=["plain", "cloudflare"])
def grok_front(request: pytest.FixtureRequest) -> str:
    """Each test here also runs over HTTPS through the Cloudflare-like edge."""
    return str(request.param)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks Sora


def wait_done(c: openai.OpenAI, video_id: str, timeout: float = 20) -> openai.types.Video:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = c.videos.retrieve(video_id)
        if video.status in ("completed", "failed"):
            return video
        time.sleep(0.05)
    raise AssertionError(f"video {video_id} did not finish: {video.status} {video.progress}")


def the_video(sim: Sim) -> bytes:
    (path,) = sim.state.media.videos.values()
    asset = sim.state.media.asset(path)
    assert asset is not None
    return asset.data


def test_create_poll_download(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    sim.state.media.video_step_delay = 0.05
    c = client(gw.url)
    video = c.videos.create(prompt="waves at dusk", seconds="8", size="1280x720")
    assert video.status in ("queued", "in_progress") and video.model == "grok-imagine-video"
    assert (video.seconds, video.size) == ("8", "1280x720")
    done = wait_done(c, video.id)
    assert done.status == "completed" and done.progress == 100 and done.completed_at
    content = c.videos.download_content(video.id)
    assert content.content == the_video(sim)
    thumb = c.videos.download_content(video.id, variant="thumbnail")
    assert thumb.content[:3] == b"\xff\xd8\xff"
    (gen,) = [r for r in sim.state.chat_requests() if r.body.get("modelName")]
    t2v = gen.body["mediaGenInput"]["textToVideo"]
    assert (t2v["duration"], t2v["aspectRatio"], t2v["resolutionName"]) == (8, "16:9", "720p")
    listed = c.videos.list()
    assert [v.id for v in listed.data] == [video.id]


def test_image_to_video_with_an_uploaded_reference(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    c = client(gw.url)
    video = c.videos.create(
        prompt="make it move", input_reference=("ref.png", tiny_png(), "image/png"), seconds="6"
    )
    done = wait_done(c, video.id)
    assert done.status == "completed", done.error
    assert c.videos.download_content(video.id).content == the_video(sim)
    (upload,) = sim.state.upload_requests()
    assert upload.body["name"] == "ref.png"
    (gen,) = [r for r in sim.state.chat_requests() if r.body.get("modelName")]
    config = gen.body["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    assert config["isReferenceToVideo"] is True and config["videoLength"] == 6


def test_the_same_idempotency_key_returns_the_same_job(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway()
    c = client(gw.url)
    key = {"Idempotency-Key": "retry-me-1"}
    first = c.videos.create(prompt="a storm", extra_headers=key)
    second = c.videos.create(prompt="a storm", extra_headers=key)
    assert second.id == first.id
    wait_done(c, first.id)
    third = c.videos.create(prompt="a storm", extra_headers=key)
    assert third.id == first.id and third.status == "completed"
    assert len([r for r in sim.state.chat_requests() if r.body.get("modelName")]) == 1
    with pytest.raises(openai.UnprocessableEntityError):
        c.videos.create(prompt="another storm", extra_headers=key)


@pytest.mark.parametrize(
    ("fault", "code"),
    [("video_moderated", "content_policy_violation"), ("video_lighthouse", "upstream_wrong_video")],
)
def test_a_failed_generation_is_a_failed_job_with_a_reason(
    make_gateway: GatewayFactory, sim: Sim, fault: str, code: str
) -> None:
    gw = make_gateway(max_retries=0)
    for token in sim.state.accounts:
        sim.state.media.inject(token, fault)
    c = client(gw.url)
    video = c.videos.create(prompt="a beach")
    done = wait_done(c, video.id)
    assert done.status == "failed" and done.error is not None
    assert done.error.code == code and done.error.message
    with pytest.raises(openai.BadRequestError):
        c.videos.download_content(video.id)


def test_delete_and_not_found(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    c = client(gw.url)
    video = c.videos.create(prompt="clouds")
    wait_done(c, video.id)
    deleted = c.videos.delete(video.id)
    assert deleted.deleted and deleted.id == video.id
    with pytest.raises(openai.NotFoundError):
        c.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        c.videos.download_content(video.id)


def test_jobs_of_one_key_are_invisible_to_another(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway(api_keys=f"{API_KEY},sk-second-key")
    mine = client(gw.url).videos.create(prompt="mine")
    other = client(gw.url, "sk-second-key")
    with pytest.raises(openai.NotFoundError):
        other.videos.retrieve(mine.id)
    assert other.videos.list().data == []


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": ""},
        {"prompt": "x", "seconds": "99"},
        {"prompt": "x", "size": "640x640"},
        {"prompt": "x", "model": "grok-imagine-image"},
        {"prompt": "x", "input_reference": {"file_id": "file_1"}},
        {"prompt": "x", "input_reference": {"image_url": "http://127.0.0.1/x.png"}},
    ],
)
def test_bad_create_requests_are_400s(
    make_gateway: GatewayFactory, sim: Sim, body: dict[str, object]
) -> None:
    gw = make_gateway()
    got = httpx.post(
        f"{gw.url}/v1/videos",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert got.status_code == 400, got.text
    assert got.json()["error"]["type"] == "invalid_request_error"
    assert sim.state.chat_requests() == []


def test_a_job_survives_its_server_being_killed(
    make_gateway: GatewayFactory, sim: Sim, tmp_path: Path
) -> None:
    """SIGKILL mid-generation (no cleanup at all), then a new server on the same data: the job
    is failed with a reason once its heartbeat is stale, never left in progress."""
    ref = make_gateway()  # only for its settings: the same accounts and simulator
    s = ref.settings
    env = {
        "GROKGATE_GROK_BASE_URL": s.grok_base_url,
        "GROKGATE_GROK_ASSETS_URL": s.grok_assets_url,
        "GROKGATE_DATA_DIR": str(tmp_path / "killed"),
        "GROKGATE_STATSIG_HEADER_HEX": s.statsig_header_hex or "",
        "GROKGATE_STATSIG_SUFFIX": s.statsig_suffix or "",
        "GROKGATE_SSO_TOKENS": ",".join(t.get_secret_value() for t in s.sso_tokens),
        "GROKGATE_API_KEYS": API_KEY,
        "GROKGATE_VIDEO_HEARTBEAT_SECONDS": "0.2",
        "GROKGATE_VIDEO_STALE_SECONDS": "1.5",
        "GROKGATE_GROK_CA_FILE": s.grok_ca_file or "",
        "GROKGATE_CF_COOKIES": s.cf_cookie_value or "",
    }
    sim.state.media.video_step_delay = 2.0  # ~10 s of generation
    proc, base = serve_process(env)
    try:
        c = client(base)
        video = c.videos.create(prompt="slow waves", extra_headers={"Idempotency-Key": "k-1"})
        deadline = time.monotonic() + 10
        while c.videos.retrieve(video.id).status != "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    sim.state.media.video_step_delay = 0.0
    proc, base = serve_process(env)
    try:
        c = client(base)
        time.sleep(1.6)
        after = c.videos.retrieve(video.id)
        assert after.status == "failed" and after.error is not None
        assert after.error.code == "worker_lost"
        again = c.videos.create(prompt="slow waves", extra_headers={"Idempotency-Key": "k-1"})
        assert again.id == video.id  # the key still names the first job
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
