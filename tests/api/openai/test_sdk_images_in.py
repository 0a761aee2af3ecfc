"""Images in, through the official openai SDK: Chat Completions and Responses upload them to
the simulator (upload v2) and attach them; SSRF targets are the SDK's BadRequestError."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import openai
import pytest

from grokgate.simulator.uploads import tiny_png
from tests.sdk import openai_client as client
from tests.support import GatewayFactory, Sim

MODEL = "grok-4.20-fast"
PNG = tiny_png()
DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
NOTE = f" [files: image-1.png (image/png, {len(PNG)} bytes)]"


def uploaded(sim: Sim) -> bytes:
    (chat,) = sim.state.chat_requests()
    (file_id,) = chat.body["fileAttachments"]
    upload = sim.state.uploads[file_id]
    assert upload.token == chat.token
    return upload.data


def test_chat_image_url_reaches_grok_as_an_attachment(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway(fetch_allow_hosts=urlsplit(sim.url).netloc)
    for url in (DATA_URI, f"{sim.url}/__sim/files/cat.png"):
        sim.state.reset()
        out = client(gw.url).chat.completions.create(
            model=MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        )
        assert (out.choices[0].message.content or "").endswith(NOTE)
        assert uploaded(sim) == PNG


def test_responses_input_image_reaches_grok_as_an_attachment(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    gw = make_gateway()
    out = client(gw.url).responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe it"},
                    {"type": "input_image", "image_url": DATA_URI, "detail": "auto"},
                ],
            }
        ],
    )
    assert out.output_text.endswith(NOTE)
    assert uploaded(sim) == PNG


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "REDIRECT",
    ],
)
def test_ssrf_targets_are_bad_requests(make_gateway: GatewayFactory, sim: Sim, url: str) -> None:
    gw = make_gateway(fetch_allow_hosts=urlsplit(sim.url).netloc)
    if url == "REDIRECT":
        url = f"{sim.url}/__sim/redirect?to=http://169.254.169.254/latest/meta-data/"
    with pytest.raises(openai.BadRequestError) as info:
        client(gw.url).chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ],
        )
    assert info.value.code == "url_refused"
    assert sim.state.chat_requests() == [] and sim.state.upload_requests() == []
