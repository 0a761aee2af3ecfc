"""GrokMediaClient downloads and quota_info reads against a MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest

from grokgate.errors import (
    UpstreamError,
    Verdict,
)
from grokgate.upstream.grokweb.imagine_quota import ImagineWindow
from grokgate.upstream.grokweb.media_request import QUOTA_PATH
from tests.upstream.media_support import (
    ACCOUNT,
    ASSETS,
    COOKIE,
    Handler,
    Upstream,
    client,
    status,
)
from tests.upstream.test_gw_client import Chunks, FakeSigner

# --- download --------------------------------------------------------------------------------


def media(kind: str = "image/jpeg", data: bytes = b"\xff\xd8jpeg", **headers: str) -> Handler:
    return lambda _: httpx.Response(200, content=data, headers={"content-type": kind, **headers})


async def test_download_with_cookies_only_on_the_asset_host() -> None:
    upstream = Upstream(
        {"/assets/users/u1/generated/x/image.jpg": media(), "/images/p.jpg": media()}
    )
    media_client = client(upstream, cf_cookies="cf_clearance=cf1")
    got = await media_client.download(ACCOUNT, "users/u1/generated/x/image.jpg", kind="image")
    assert (got.data, got.mime) == (b"\xff\xd8jpeg", "image/jpeg")
    private = upstream.requests[-1]
    assert str(private.url) == f"{ASSETS}/users/u1/generated/x/image.jpg"
    assert private.headers["cookie"] == f"{COOKIE}; cf_clearance=cf1"
    assert private.headers["sec-fetch-dest"] == "document"
    assert "origin" not in private.headers and "x-statsig-id" not in private.headers
    again = await media_client.download(
        ACCOUNT, "https://assets.grok.com/users/u1/generated/x/image.jpg", kind="image"
    )
    assert again.data == got.data
    await media_client.download(ACCOUNT, "https://imagine-public.x.ai/images/p.jpg", kind="image")
    public = upstream.requests[-1]
    assert public.url.host == "imagine-public.x.ai"
    assert "cookie" not in public.headers


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/users/u1/x.jpg",
        "https://cdn.test/elsewhere/x.jpg",
        "https://cdn.test/assets/../secret",
        "ftp://cdn.test/assets/x.jpg",
    ],
)
async def test_download_refuses_other_hosts(url: str) -> None:
    upstream = Upstream({})
    with pytest.raises(UpstreamError, match="refusing") as info:
        await client(upstream).download(ACCOUNT, url, kind="image")
    assert upstream.requests == []
    assert info.value.retryable is False


async def test_download_checks_type_and_size() -> None:
    path = "/assets/users/u1/v.mp4"
    wrong = Upstream({path: media("text/html", b"<html>")})
    with pytest.raises(UpstreamError, match="type"):
        await client(wrong).download(ACCOUNT, ASSETS + "/users/u1/v.mp4", kind="video")
    ok = Upstream({path: media("video/mp4; codecs=x", b"\x00" * 100)})
    got = await client(ok).download(ACCOUNT, ASSETS + "/users/u1/v.mp4", kind="video")
    assert got.mime == "video/mp4" and len(got.data) == 100
    with pytest.raises(UpstreamError, match="larger"):
        await client(ok).download(ACCOUNT, ASSETS + "/users/u1/v.mp4", kind="video", max_bytes=99)
    chunked = Upstream(
        {
            path: lambda _: httpx.Response(
                200, headers={"content-type": "video/mp4"}, stream=Chunks([b"\x00" * 60] * 3)
            )
        }
    )
    with pytest.raises(UpstreamError, match="larger"):
        await client(chunked, max_download_bytes=150).download(
            ACCOUNT, ASSETS + "/users/u1/v.mp4", kind="video"
        )


async def test_download_retries() -> None:
    path = "/assets/users/u1/x.jpg"
    flaky = Upstream({path: [status(503), status(429), media()]})
    got = await client(flaky).download(ACCOUNT, ASSETS + "/users/u1/x.jpg", kind="image")
    assert got.mime == "image/jpeg" and len(flaky.requests) == 3
    down = Upstream({path: status(429, "slow down", **{"retry-after": "5"})})
    with pytest.raises(UpstreamError) as info:
        await client(down).download(ACCOUNT, ASSETS + "/users/u1/x.jpg", kind="image")
    assert info.value.verdict is Verdict.RATE_LIMITED and len(down.requests) == 3
    missing = Upstream({path: status(404)})
    with pytest.raises(UpstreamError) as info:
        await client(missing).download(ACCOUNT, ASSETS + "/users/u1/x.jpg", kind="image")
    assert info.value.upstream_status == 404 and len(missing.requests) == 1
    redirect = Upstream({path: status(302, location="https://evil.example/x")})
    with pytest.raises(UpstreamError):
        await client(redirect).download(ACCOUNT, ASSETS + "/users/u1/x.jpg", kind="image")
    assert len(redirect.requests) == 1


# --- quota -----------------------------------------------------------------------------------


async def test_imagine_quota() -> None:
    window = {"available": True, "remainingQueries": 7, "windowSizeSeconds": 86400}
    answer = {
        "image": window,
        "imagePro": None,
        "imageEdit": window,
        "video": window,
        "video720p": None,
    }
    upstream = Upstream({QUOTA_PATH: lambda _: httpx.Response(200, json=answer)})
    signer = FakeSigner()
    quota = await client(upstream, signer).imagine_quota(ACCOUNT)
    assert quota["image"] == ImagineWindow(True, 7, 86400.0, None)
    assert quota["video720p"] is None
    (request,) = upstream.requests
    assert json.loads(request.content) == {}
    assert request.headers["referer"] == "https://grok.com/imagine"
    assert signer.signed == [("POST", QUOTA_PATH)]


async def test_imagine_quota_failures() -> None:
    broken = Upstream({QUOTA_PATH: lambda _: httpx.Response(200, json={"image": None})})
    with pytest.raises(UpstreamError, match="unusable"):
        await client(broken).imagine_quota(ACCOUNT)
    limited = Upstream({QUOTA_PATH: status(429, "", **{"retry-after": "60"})})
    with pytest.raises(UpstreamError) as info:
        await client(limited).imagine_quota(ACCOUNT)
    assert info.value.verdict is Verdict.RATE_LIMITED and info.value.retry_after == 60
