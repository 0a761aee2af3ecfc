"""Images and files end to end: client → live gateway → simulator upload v2 → chat, plus SSRF
refusals that must end as 400s before any account is leased."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from grokgate.simulator.uploads import sample_file, tiny_png
from tests.support import API_KEY, Gateway, GatewayFactory, Sim

MODEL = "grok-4.20-fast"
PDF = b"%PDF-1.4\nhello pdf\n%%EOF\n"


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def user(text: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}, *parts]}


def post(gw: Gateway, *parts: dict[str, Any], stream: bool = False) -> httpx.Response:
    body = {"model": MODEL, "messages": [user("what is in here?", *parts)], "stream": stream}
    return httpx.post(
        f"{gw.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )


@pytest.fixture(params=["rest", "ws"])
def chat_transport(request: pytest.FixtureRequest) -> str:
    """Uploads are attached by id over both grok.com chat transports."""
    return str(request.param)


def allow_sim(make_gateway: GatewayFactory, sim: Sim) -> Gateway:
    return make_gateway(fetch_allow_hosts=urlsplit(sim.url).netloc)


def answer_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def the_upload(sim: Sim) -> tuple[str, bytes, str, str]:
    """(file id, bytes, name, mime) of the one upload, checked against the chat body."""
    (chat,) = sim.state.chat_requests()
    (file_id,) = chat.body["fileAttachments"]
    stored = sim.state.uploads[file_id]
    assert stored.token == chat.token  # uploaded with the serving account
    return file_id, stored.data, stored.name, stored.mime


def test_a_data_uri_image_is_uploaded_and_attached(make_gateway: GatewayFactory, sim: Sim) -> None:
    png = tiny_png()
    gw = make_gateway()
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    text = answer_of(post(gw, image(uri)))
    _, data, name, mime = the_upload(sim)
    assert (data, name, mime) == (png, "image-1.png", "image/png")
    assert text.endswith(f" [files: image-1.png (image/png, {len(png)} bytes)]")


def test_an_image_url_on_an_allowed_host_is_fetched_and_uploaded(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = allow_sim(make_gateway, sim)
    text = answer_of(post(gw, image(f"{sim.url}/__sim/files/cat.png")))
    _, data, name, mime = the_upload(sim)
    assert data == tiny_png() and (name, mime) == ("image-1.png", "image/png")
    assert text.endswith(f" [files: image-1.png (image/png, {len(data)} bytes)]")


def test_a_file_part_keeps_its_name(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = allow_sim(make_gateway, sim)
    file_part = {
        "type": "file",
        "file": {
            "filename": "paper.pdf",
            "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
        },
    }
    sample = sample_file("dog.jpg")
    assert sample is not None
    text = answer_of(post(gw, file_part, image(f"{sim.url}/__sim/files/dog.jpg")))
    (chat,) = sim.state.chat_requests()
    stored = [sim.state.uploads[i] for i in chat.body["fileAttachments"]]
    assert [(s.name, s.mime, s.data) for s in stored] == [
        ("paper.pdf", "application/pdf", PDF),
        ("image-2.jpg", "image/jpeg", sample[0]),
    ]
    assert text.endswith(
        f" [files: paper.pdf (application/pdf, {len(PDF)} bytes); "
        f"image-2.jpg (image/jpeg, {len(sample[0])} bytes)]"
    )


def _refused_targets(gw: Gateway, sim: Sim) -> list[str]:
    return [
        f"http://127.0.0.1:{urlsplit(gw.url).port}/health",
        "http://169.254.169.254/latest/meta-data/",
        f"{sim.url}/__sim/redirect?to={quote('http://169.254.169.254/', safe='')}",
        f"{sim.url}/__sim/redirect?to={quote('http://127.0.0.1:9/', safe='')}",
        "http://[::1]/x",
        "http://10.0.0.1/x",
        "file:///etc/passwd",
    ]


@pytest.mark.parametrize("stream", [False, True])
async def test_ssrf_targets_are_400_before_any_lease(
    make_gateway: GatewayFactory, sim: Sim, stream: bool
) -> None:
    gw = allow_sim(make_gateway, sim)
    for target in _refused_targets(gw, sim):
        response = post(gw, image(target), stream=stream)
        assert response.status_code == 400, (target, response.text)
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error", error
        assert error["param"] == "messages[0].content[1].image_url"
        if target.startswith("http"):
            assert error["code"] == "url_refused", error
            assert error["message"].startswith("refused to fetch http"), error
    assert sim.state.chat_requests() == []
    assert sim.state.upload_requests() == []
    for account in (await gw.accounts()).values():
        assert account.use_count == 0 and account.last_used_at == 0 and not account.leases


def test_an_unsupported_image_type_is_400(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = allow_sim(make_gateway, sim)
    response = post(gw, image(f"{sim.url}/__sim/files/paper.pdf"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_file_type"
    assert sim.state.chat_requests() == []


async def test_an_upload_rejection_is_a_400_not_retried_and_not_held_against_the_account(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway()
    sim.state.max_upload_bytes = 10
    uri = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    response = post(gw, image(uri))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "upload_rejected" and "image-1.png" in error["message"]
    assert len(sim.state.upload_requests()) == 1
    assert sim.state.chat_requests() == []
    accounts = (await gw.accounts()).values()
    assert all(a.health == 1.0 and a.status == "active" and not a.leases for a in accounts)
