"""Images through the official openai SDK against a live gateway → the grok.com simulator:
generations over the imagine WebSocket (url and b64_json, n across rounds), lite images through
chat, edits with several pictures, and the failures a client must see clearly."""

from __future__ import annotations

import asyncio
import base64
import time
from urllib.parse import urlsplit

import httpx
import openai
import pytest

from grokgate.simulator.uploads import tiny_png
from grokgate.stores.records import Status, account_id_for
from tests.sdk import openai_client as client
from tests.support import ALL_TOKENS, GatewayFactory, Sim


@pytest.fixture(params=["plain", "cloudflare"])
def grok_front(request: pytest.FixtureRequest) -> str:
    """Each test here also runs over HTTPS through the Cloudflare-like edge."""
    return str(request.param)


SUPER = [t for t in ALL_TOKENS if "super" in t]


def image_assets(sim: Sim) -> dict[bytes, str]:
    """Bytes of every picture the simulator generated → its asset path."""
    out: dict[bytes, str] = {}
    for path, asset in sim.state.media.assets.items():
        if asset.mime.startswith("image/"):
            out[asset.data] = path
    return out


def test_generate_urls_across_two_websocket_rounds(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    sim.state.media.images_per_round = 2
    out = client(gw.url).images.generate(model="grok-imagine-image", prompt="a red fox", n=3)
    assert out.data is not None and len(out.data) == 3
    made = image_assets(sim)
    seen = set()
    for image in out.data:
        assert image.url and image.b64_json is None
        parts = urlsplit(image.url)
        assert parts.path.startswith("/media/images/") and "signature=" in parts.query
        got = httpx.get(image.url, timeout=10)  # no API key: the signature is the credential
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        assert got.content in made  # exactly the simulator's picture
        seen.add(got.content)
    assert len(seen) == 3
    rounds = sim.state.media.requests("ws_round")
    assert len(rounds) == 2  # 2 pictures, then the third in a second round on the same socket


def test_generate_b64_json_and_size(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    out = client(gw.url).images.generate(
        model="grok-imagine-image-pro",
        prompt="a lighthouse",
        n=2,
        size="1792x1024",
        response_format="b64_json",
    )
    assert out.data is not None and len(out.data) == 2
    made = image_assets(sim)
    for image in out.data:
        assert image.b64_json and image.url is None
        assert base64.b64decode(image.b64_json) in made
    (round_,) = sim.state.media.requests("ws_round")
    assert round_.detail["aspect_ratio"] == "3:2" and round_.detail["enable_pro"] is True


def test_lite_image_through_chat_is_downloaded_with_the_cookies(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway()
    out = client(gw.url).images.generate(model="grok-imagine-image-lite", prompt="a cat", n=1)
    assert out.data is not None and len(out.data) == 1
    got = httpx.get(out.data[0].url or "", timeout=10)
    assert got.status_code == 200 and got.content in image_assets(sim)
    (chat,) = sim.state.chat_requests()
    assert chat.body["message"] == "Drawing: a cat" and chat.body["modeId"] == "fast"


def test_edit_two_pictures(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    png = tiny_png()
    out = client(gw.url).images.edit(
        model="grok-imagine-image-edit",
        image=[("a.png", png, "image/png"), ("b.png", png + b"", "image/png")],
        prompt="make them blue",
    )
    assert out.data is not None and len(out.data) == 1
    got = httpx.get(out.data[0].url or "", timeout=10)
    assert got.status_code == 200 and got.content in image_assets(sim)
    uploads = sim.state.upload_requests()
    assert len(uploads) == 2
    (edit,) = [r for r in sim.state.chat_requests() if r.body.get("modelName")]
    assets = edit.body["mediaGenInput"]["imageToImage"]["inputAssets"]
    assert len(assets) == 2 and all(sim.state.uploads[a].token == edit.token for a in assets)


def test_edit_refuses_a_mask_and_a_non_image(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    png = tiny_png()
    with pytest.raises(openai.BadRequestError) as masked:
        client(gw.url).images.edit(
            image=("a.png", png, "image/png"), mask=("m.png", png, "image/png"), prompt="x"
        )
    assert masked.value.code == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as text:
        client(gw.url).images.edit(image=("a.txt", b"hello", "text/plain"), prompt="x")
    assert "PNG, JPEG, GIF or WebP" in text.value.message
    assert sim.state.chat_requests() == [] and sim.state.upload_requests() == []


@pytest.mark.parametrize(
    ("model", "n", "size"),
    [
        ("grok-imagine-image", 11, None),
        ("grok-imagine-image-edit", 1, None),  # an edit model on generations
        ("grok-4.20-fast", 1, None),
        ("grok-imagine-image", 1, "999x999"),
    ],
)
def test_bad_generation_requests_are_400s(
    make_gateway: GatewayFactory, sim: Sim, model: str, n: int, size: str | None
) -> None:
    gw = make_gateway()
    kwargs = {"size": size} if size else {}
    with pytest.raises(openai.BadRequestError):
        client(gw.url).images.generate(model=model, prompt="x", n=n, **kwargs)  # type: ignore[arg-type]
    assert sim.state.media.requests() == []


async def test_all_slots_moderated_is_a_content_policy_error_without_penalty(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    for token in SUPER:
        sim.state.media.inject(token, "moderate", times=5)
    with pytest.raises(openai.BadRequestError) as caught:
        client(gw.url).images.generate(model="grok-imagine-image", prompt="forbidden")
    assert caught.value.code == "content_policy_violation"
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    accounts = await gw.accounts()
    assert all(a.status is Status.ACTIVE and a.health == 1.0 for a in accounts.values())
    assert all(a.inflight == 0 for a in accounts.values())


async def test_a_websocket_401_expires_the_account_and_another_serves(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    bad = min(SUPER, key=account_id_for)  # ties go to the lowest id
    sim.state.media.inject(bad, "ws_401")
    out = client(gw.url).images.generate(model="grok-imagine-image", prompt="a fox")
    assert out.data is not None and len(out.data) == 1
    accounts = await gw.accounts()
    assert accounts[account_id_for(bad)].status is Status.EXPIRED
    assert all(a.inflight == 0 for a in accounts.values())


async def test_websocket_401_on_every_account_is_a_clear_error(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    for token in SUPER:
        sim.state.media.inject(token, "ws_401")
    with pytest.raises(openai.APIStatusError) as caught:
        client(gw.url).images.generate(model="grok-imagine-image", prompt="a fox")
    assert caught.value.status_code == 502
    assert "401" in caught.value.message or "expired" in caught.value.message.lower()
    accounts = await gw.accounts()
    assert {a.status for a in accounts.values()} == {Status.EXPIRED}


async def test_an_edit_without_an_image_is_a_clear_error(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    for token in SUPER:
        sim.state.media.inject(token, "edit_no_image", times=3)
    with pytest.raises(openai.APIStatusError) as caught:
        client(gw.url).images.edit(image=("a.png", tiny_png(), "image/png"), prompt="x")
    assert caught.value.status_code == 502
    assert "without an image" in caught.value.message
    accounts = await gw.accounts()
    assert all(a.health < 1.0 and a.inflight == 0 for a in accounts.values())


def test_chat_with_an_image_model_answers_markdown_images(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway()
    out = client(gw.url).chat.completions.create(
        model="grok-imagine-image", messages=[{"role": "user", "content": "a red fox"}]
    )
    text = out.choices[0].message.content or ""
    assert text.startswith("![image 1](") and "/media/images/" in text
    url = text[len("![image 1](") : -1]
    assert httpx.get(url, timeout=10).content in image_assets(sim)
    stream = client(gw.url).chat.completions.create(
        model="grok-imagine-image",
        messages=[{"role": "user", "content": "a blue fox"}],
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces).startswith("![image 1](")


def test_the_media_models_are_listed(make_gateway: GatewayFactory) -> None:
    gw = make_gateway()
    ids = {m.id for m in client(gw.url).models.list()}
    assert {"grok-imagine-image", "grok-imagine-image-edit", "grok-imagine-video"} <= ids


async def test_a_websocket_429_spends_the_image_group_until_retry_after(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    bad, good = sorted(SUPER, key=account_id_for)
    sim.state.media.inject(bad, "ws_429", retry_after=120)
    started = time.time()
    out = client(gw.url).images.generate(model="grok-imagine-image", prompt="a fox")
    assert out.data is not None and len(out.data) == 1
    accounts = await gw.accounts()
    spent = accounts[account_id_for(bad)].quotas["image"]
    assert spent.remaining == 0 and started + 119 <= spent.reset_at <= time.time() + 121
    assert accounts[account_id_for(bad)].status is Status.ACTIVE
    out = client(gw.url).images.generate(model="grok-imagine-image", prompt="again")
    served = [r.token for r in sim.state.media.requests("ws_round")]
    assert served == [good, good]  # the spent group is skipped


async def test_imagine_quota_is_read_from_quota_info_after_use(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    client(gw.url).images.generate(model="grok-imagine-image", prompt="a fox", n=2)
    (token,) = {r.token for r in sim.state.media.requests("ws_round")}
    deadline = time.monotonic() + 10
    while True:
        account = (await gw.accounts())[account_id_for(token or "")]
        if "image" in account.quotas or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    quota = account.quotas["image"]
    assert quota.remaining == sim.state.media.remaining(token or "", "image") == 98
    assert quota.source.value == "upstream"
    assert sim.state.media.requests("quota_info")


def test_a_tampered_or_foreign_media_url_is_refused(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway()
    out = client(gw.url).images.generate(model="grok-imagine-image", prompt="a fox")
    assert out.data is not None
    url = out.data[0].url or ""
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&"))
    flipped = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
    later = str(int(query["expires"]) + 3600)
    bad = [
        f"{gw.url}{parts.path}?expires={query['expires']}&signature={flipped}",
        f"{gw.url}{parts.path}?expires={later}&signature={query['signature']}",
        f"{gw.url}{parts.path}x?expires={query['expires']}&signature={query['signature']}",
        f"{gw.url}{parts.path}",
    ]
    for target in bad:
        got = httpx.get(target, timeout=10)
        assert got.status_code == 403, target
        assert got.json()["error"]["code"] == "invalid_signature"
    assert httpx.get(url, timeout=10).status_code == 200


def test_chat_with_the_edit_model_edits_the_last_user_images(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway()
    uri = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    parts = [
        {"type": "text", "text": "make it blue"},
        {"type": "image_url", "image_url": {"url": uri}},
    ]
    out = client(gw.url).chat.completions.create(
        model="grok-imagine-image-edit", messages=[{"role": "user", "content": parts}]
    )
    text = out.choices[0].message.content or ""
    assert text.startswith("![image 1](")
    (upload,) = sim.state.upload_requests()
    assert upload.body["size"] == len(tiny_png())
    (edit,) = [r for r in sim.state.chat_requests() if r.body.get("modelName")]
    assert edit.body["mediaGenInput"]["imageToImage"]["prompt"] == "make it blue"
