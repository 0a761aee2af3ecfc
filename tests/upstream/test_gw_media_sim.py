"""GrokMediaClient against a live simulator (loopback): imagine, lite, edit, video, downloads,
quota and the media faults (docs/grok-protocol.md §6–§8)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.errors import ContentModeratedError, UpstreamError, UpstreamTimeoutError, Verdict
from grokgate.simulator.app import create_app
from grokgate.simulator.media_bytes import image_bytes, video_bytes
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from grokgate.simulator.uploads import tiny_png
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.media_client import GrokMediaClient
from grokgate.upstream.grokweb.media_types import GeneratedVideo, VideoParams, VideoProgress
from grokgate.upstream.grokweb.statsig import InProcessSigner
from tests.upstream.browser_support import live_web

TOKEN = "sso-media-sim-eyJhbGciOiJIUzI1NiJ9"
OTHER = "sso-media-sim-other-eyJhbGciOiJIUzI1NiJ9"
PNG = Attachment("ref.png", "image/png", tiny_png())


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[SimState, str]]:
    state = SimState()
    state.add_account(TOKEN, "super")
    state.add_account(OTHER, "super")
    with ServerThread(create_app(state)) as server:
        yield state, server.url


@pytest.fixture
async def media(
    simulator: tuple[SimState, str],
) -> AsyncIterator[tuple[SimState, GrokMediaClient]]:
    state, url = simulator
    state.reset()
    signer = InProcessSigner(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), DEMO_STATSIG_SUFFIX)
    async with live_web(url, deadline=30.0) as web:
        client = GrokMediaClient(web, signer=signer, assets_url=url + "/assets")
        client.download_retry_delays = (0.0, 0.0)
        client.round_grace = 0.3  # the simulator sends a round's slots one after the other
        yield state, client
    state.reset()


def account(token: str = TOKEN) -> Account:
    return Account(id="acct_media_sim", token=SecretStr(token))


async def test_imagine_three_images_in_two_rounds(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    state.media.images_per_round = 2
    images = await client.imagine(account(), "a red fox", n=3, aspect_ratio="2:3", pro=False)
    assert len(images) == 3
    rounds = state.media.requests("ws_round")
    assert [r.detail["num_generations"] for r in rounds] == [3, 1]
    for image in images:
        assert image.image_id is not None and image.url is not None
        assert image.data == image_bytes(image.image_id, 832, 1248)
        assert (image.width, image.height, image.public) == (832, 1248, False)
        assert image.url.startswith(client.hosts.assets_url + "/users/")
        downloaded = await client.download(account(), image.url, kind="image")
        assert downloaded.data == image.data and downloaded.mime == "image/jpeg"
    quota = await client.imagine_quota(account())
    assert quota["image"] is not None and quota["image"].remaining == 100 - 3


async def test_imagine_public_urls(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    state.media.public_urls = True
    (image,) = await client.imagine(account(), "a cat", n=1, aspect_ratio="1:1", pro=True)
    assert image.public is True
    assert image.url == f"https://imagine-public.x.ai/imagine-public/images/{image.image_id}.jpg"
    assert image.data == image_bytes(str(image.image_id), 1024, 1024)


async def test_imagine_faults(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    state.media.inject(TOKEN, "ws_401")
    with pytest.raises(UpstreamError) as info:
        await client.imagine(account(), "p", n=1, aspect_ratio="1:1", pro=False)
    assert info.value.verdict is Verdict.EXPIRED and info.value.upstream_status == 401
    state.media.inject(TOKEN, "ws_429", retry_after=33)
    with pytest.raises(UpstreamError) as info:
        await client.imagine(account(), "p", n=1, aspect_ratio="1:1", pro=False)
    assert info.value.verdict is Verdict.RATE_LIMITED and info.value.retry_after == 33
    state.media.inject(TOKEN, "ws_error")
    with pytest.raises(UpstreamError, match="imagine socket reported an error"):
        await client.imagine(account(), "p", n=1, aspect_ratio="1:1", pro=False)
    state.media.inject(TOKEN, "moderate")
    with pytest.raises(ContentModeratedError):
        await client.imagine(account(), "p", n=2, aspect_ratio="1:1", pro=False)
    state.media.images_per_round = 2
    state.media.inject(TOKEN, "moderate_some")
    images = await client.imagine(account(), "p", n=2, aspect_ratio="1:1", pro=False)
    assert len(images) == 2
    assert [r.detail["num_generations"] for r in state.media.requests("ws_round")][-2:] == [2, 1]
    with pytest.raises(UpstreamError) as info:
        await client.imagine(
            account("sso-nobody-12345678"), "p", n=1, aspect_ratio="1:1", pro=False
        )
    assert info.value.verdict is Verdict.EXPIRED


async def test_imagine_quota_exhausted(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    state.media.set_remaining(TOKEN, "image", 0)
    with pytest.raises(UpstreamError) as info:
        await client.imagine(account(), "p", n=1, aspect_ratio="1:1", pro=False)
    assert info.value.verdict is Verdict.RATE_LIMITED and info.value.retry_after
    quota = await client.imagine_quota(account())
    image = quota["image"]
    assert image is not None and image.available is False and image.remaining == 0
    assert image.next_available_at is not None


async def test_lite_image(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    images = await client.lite_image(account(), "a lighthouse at dusk", n=3)
    assert len(images) == 3
    assert len(state.media.requests("lite")) == 2
    for image in images:
        assert image.data is None and image.url is not None and not image.public
        got = await client.download(account(), image.url, kind="image")
        assert got.data == image_bytes(str(image.image_id))


async def test_edit_with_two_inputs(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    second = Attachment("two.png", "image/png", tiny_png())
    (image,) = await client.edit_image(account(), "make it blue", [PNG, second], aspect_ratio="1:1")
    (record,) = state.media.requests("edit")
    assert len(record.detail["input_assets"]) == 2
    uploads = state.upload_requests()
    assert len(uploads) == 2
    assert image.url is not None
    got = await client.download(account(), image.url, kind="image")
    assert got.data == image_bytes(str(image.image_id), 1024, 1024)


async def test_edit_body_is_go3s(media: tuple[SimState, GrokMediaClient]) -> None:
    """inputAssets are the uploads' fileMetadataIds; no temporary, kind or responseMetadata."""
    state, client = media
    await client.edit_image(account(), "make it blue", [PNG], aspect_ratio=None)
    (edit,) = [r for r in state.chat_requests() if r.body.get("modelName")]
    assert set(edit.body) == {
        "modelName",
        "message",
        "enableImageStreaming",
        "enableSideBySide",
        "sendFinalMetadata",
        "mediaGenInput",
    }
    (file_id,) = state.uploads  # the fileMetadataId the upload answered with
    assert edit.body["mediaGenInput"]["imageToImage"] == {
        "prompt": "make it blue",
        "inputAssets": [file_id],
    }


async def test_edit_faults(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    state.media.inject(TOKEN, "moderate")
    with pytest.raises(ContentModeratedError):
        await client.edit_image(account(), "p", [PNG], aspect_ratio=None)
    state.media.inject(TOKEN, "edit_no_image")
    with pytest.raises(UpstreamError, match="without an image") as info:
        await client.edit_image(account(), "p", [PNG], aspect_ratio=None)
    assert info.value.verdict is Verdict.UNAVAILABLE


async def collect(client: GrokMediaClient, params: VideoParams, **kw: Any) -> list[Any]:
    return [item async for item in client.video(account(), params, **kw)]


async def test_text_video(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    params = VideoParams("waves at night", seconds=6, preset="normal")
    items = await collect(client, params)
    *progress, final = items
    assert [p.percent for p in progress] == [1, 20, 45, 70, 95]
    assert all(isinstance(p, VideoProgress) for p in progress)
    assert isinstance(final, GeneratedVideo)
    assert final.video_id in final.url and final.thumbnail_url is not None
    got = await client.download(account(), final.url, kind="video")
    assert got.mime == "video/mp4"
    assert got.data == video_bytes(final.video_id, "waves at night", 6)
    thumb = await client.download(account(), final.thumbnail_url, kind="image")
    assert thumb.mime == "image/jpeg"
    (record,) = state.media.requests("video")
    assert (record.detail["mode"], record.detail["parent_post_id"]) == ("normal", None)


async def test_image_video(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    params = VideoParams("it starts to dance", seconds=8, aspect_ratio="9:16", preset="fun")
    items = await collect(client, params, reference=PNG)
    final = items[-1]
    assert isinstance(final, GeneratedVideo)
    (post,) = state.media.requests("post")
    (record,) = state.media.requests("video")
    assert record.detail["parent_post_id"] is not None
    assert record.detail["duration"] == 10
    assert post.detail["media_url"].startswith("https://assets.grok.com/users/")
    got = await client.download(account(), final.url, kind="video")
    assert got.data == video_bytes(final.video_id, "it starts to dance", 10)


async def test_video_faults(media: tuple[SimState, GrokMediaClient]) -> None:
    state, client = media
    state.media.inject(TOKEN, "video_lighthouse")
    seen: list[Any] = []
    with pytest.raises(UpstreamError, match="different video") as info:
        async for item in client.video(account(), VideoParams("p")):
            seen.append(item)
    assert len(seen) == 5 and not isinstance(info.value, ContentModeratedError)
    state.media.inject(TOKEN, "video_moderated")
    with pytest.raises(ContentModeratedError):
        await collect(client, VideoParams("p"))


async def test_a_silent_video_stream_ends_at_the_deadline(
    media: tuple[SimState, GrokMediaClient],
) -> None:
    """The deadline holds while grok.com is silent, not only when a frame arrives."""
    state, client = media
    state.media.video_step_delay = 5.0  # 5 s between progress frames
    client.web = replace(client.web, deadline=0.3)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeoutError, match=r"took longer than 0\.3 s"):
        await collect(client, VideoParams("p"))
    assert time.monotonic() - started < 2.0


async def test_download_needs_the_owners_cookies(media: tuple[SimState, GrokMediaClient]) -> None:
    _, client = media
    (image,) = await client.lite_image(account(), "p", n=1)
    assert image.url is not None
    with pytest.raises(UpstreamError) as info:
        await client.download(account(OTHER), image.url, kind="image")
    assert info.value.upstream_status == 403
    with pytest.raises(UpstreamError) as info:
        await client.download(account("sso-nobody-12345678"), image.url, kind="image")
    assert info.value.verdict is Verdict.EXPIRED
    with pytest.raises(UpstreamError, match="type"):
        await client.download(account(), image.url, kind="video")
