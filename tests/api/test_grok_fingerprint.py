"""Every kind of grok.com call grokgate makes looks like Chrome on the wire.

A live gateway talks to the simulator through the edge in probe mode (HTTPS on loopback), which
records each connection's ClientHello, and on HTTP/2 its SETTINGS, first WINDOW_UPDATE and
pseudo-header order. The gateway is driven through the official openai SDK to make every call
kind: REST and WebSocket chat, the session query, uploads, rate limits, media post, image edit,
video, Imagine quota, the imagine WebSocket and asset downloads.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest

from grokgate.simulator.edge import EdgeThread, verdict
from grokgate.simulator.uploads import tiny_png
from tests.sdk import openai_client as client
from tests.support import GatewayFactory, Sim

CHROME_SETTINGS = ((1, 65536), (2, 0), (4, 6291456), (6, 262144))
JA4 = {  # curl_cffi 0.17's profiles, as the edge measures them
    "chrome146": ("t13d1516h2_8daaf6152771_d8a2da3f94cd", "t13d1515h1_8daaf6152771_0a20fe35d3a5"),
    "chrome152": ("t13d1517h2_8daaf6152771_cb7bf5808d99", "t13d1516h1_8daaf6152771_5b37b36a67c0"),
}
CALLS = {  # call kind → how its path starts
    "REST chat": "/rest/app-chat/conversations/new",
    "upload": "/http/upload-file-v2/direct",
    "rate limits": "/rest/rate-limits",
    "session": "/api/auth/session",
    "media post": "/rest/media/post/create",
    "Imagine quota": "/rest/media/imagine/quota_info",
    "asset download": "/assets/",
    "WS chat gateway": "/ws/mgw/",
    "imagine WebSocket": "/ws/imagine/listen",
}


@pytest.fixture
def probe(sim_server: Sim) -> Iterator[EdgeThread]:
    with EdgeThread(sim_server.url, mode="probe") as edge:
        yield edge


def _wait_for(probe: EdgeThread, prefix: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not any(r.path.startswith(prefix) for c in probe.connections for r in c.requests):
        assert time.monotonic() < deadline, f"no {prefix} call reached the edge"
        time.sleep(0.05)


@pytest.mark.parametrize("profile", ["chrome146", "chrome152"])
def test_every_grok_call_kind_has_chromes_fingerprint(
    make_gateway: GatewayFactory, sim: Sim, probe: EdgeThread, profile: str
) -> None:
    common = {
        "grok_base_url": probe.url,
        "grok_assets_url": f"{probe.url}/assets",
        "grok_ca_file": probe.ca_file,
        "impersonate": profile,
        "quota_sync_seconds": 0.001,  # read the quota after every use
    }
    rest = client(make_gateway(web_chat_transport="rest", **common).url)
    ws = client(make_gateway(web_chat_transport="ws", **common).url)
    picture = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    image = {"type": "image_url", "image_url": {"url": picture}}
    text = {"type": "text", "text": "what is this?"}
    for sdk in (rest, ws):
        sdk.chat.completions.create(
            model="grok-4.20-auto", messages=[{"role": "user", "content": [text, image]}]
        )
    out = rest.images.generate(model="grok-imagine-image", prompt="a fox", response_format="url")
    assert out.data
    rest.images.edit(
        model="grok-imagine-image-edit", image=("a.png", tiny_png(), "image/png"), prompt="blue"
    )
    video = rest.videos.create(
        prompt="move", input_reference=("ref.png", tiny_png(), "image/png"), seconds="6"
    )
    deadline = time.monotonic() + 20
    while rest.videos.retrieve(video.id).status not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rest.videos.retrieve(video.id).status == "completed"
    for prefix in CALLS.values():
        _wait_for(probe, prefix)

    regular, socket = JA4[profile]
    seen: dict[str, set[str]] = {kind: set() for kind in CALLS}
    for record in list(probe.connections):
        judged = verdict(record)
        assert judged.chrome, (record.summary(), judged.reasons)
        assert record.hello is not None and record.hello.grease
        if record.websocket:
            assert record.alpn == "http/1.1" and record.ja4 == socket
        else:
            assert record.alpn == "h2" and record.ja4 == regular
            assert record.settings == CHROME_SETTINGS
            assert record.window_update == 15663105
            assert {r.pseudo_order for r in record.requests} == {"m,a,s,p"}
        for request in record.requests:
            assert "Chrome/" + profile[6:9] in (request.user_agent or "")
            for kind, prefix in CALLS.items():
                if request.path.startswith(prefix):
                    seen[kind].add(record.alpn or "")
    assert all(seen.values()), seen
    assert seen["WS chat gateway"] == seen["imagine WebSocket"] == {"http/1.1"}
