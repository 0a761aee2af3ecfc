"""The simulator's imagine WebSocket over real loopback (``websockets`` sync client)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from grokgate.simulator.imagine import IMAGINE_PATH, ImagineSocket, dims, parse_item
from grokgate.simulator.media_bytes import image_bytes
from grokgate.simulator.state import CHAT_PATH, SimState

if TYPE_CHECKING:
    from conftest import Sim


def ws_connect(sim: Sim, token: str | None = "tok-super", cookie: str | None = None) -> Any:
    headers = {}
    if cookie is not None:
        headers["Cookie"] = cookie
    elif token is not None:
        headers["Cookie"] = f"sso={token}; sso-rw={token}"
    url = sim.url.replace("http://", "ws://") + IMAGINE_PATH
    return connect(url, additional_headers=headers, open_timeout=5, close_timeout=2)


def item(content: dict[str, Any]) -> str:
    ts = int(time.time() * 1000)
    frame = {"type": "conversation.item.create", "timestamp": ts}
    return json.dumps(frame | {"item": {"type": "message", "content": [content]}})


def request_item(prompt: str, n: int | None = None, aspect: str = "2:3", pro: bool = False) -> str:
    props: dict[str, Any] = {
        "section_count": 0,
        "is_kids_mode": False,
        "enable_nsfw": True,
        "skip_upsampler": False,
        "enable_side_by_side": True,
        "is_initial": False,
        "aspect_ratio": aspect,
        "enable_pro": pro,
    }
    if n is not None:
        props["num_generations"] = n
    part = {"requestId": str(uuid.uuid4()), "text": prompt, "type": "input_text"}
    return item(part | {"properties": props})


def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=5))


def round_frames(ws: ClientConnection, prompt: str, slots: int, **kw: Any) -> list[dict[str, Any]]:
    """Send reset + request and read until ``slots`` slots completed (or an error frame)."""
    ws.send(item({"type": "reset"}))
    ws.send(request_item(prompt, **kw))
    frames: list[dict[str, Any]] = []
    done = 0
    while done < slots:
        frame = recv(ws)
        frames.append(frame)
        if frame["type"] == "error":
            break
        done += frame.get("current_status") == "completed"
    return frames


def by_slot(frames: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    slots: dict[int, list[dict[str, Any]]] = {}
    for frame in frames:
        slots.setdefault(frame["order"], []).append(frame)
    return slots


def test_a_round_streams_start_previews_final_and_completed(sim: Sim) -> None:
    with ws_connect(sim) as ws:
        frames = round_frames(ws, "a red fox", 2, n=2)
    uid = sim.state.accounts["tok-super"].user_id
    slots = by_slot(frames)
    assert sorted(slots) == [0, 1]
    ids = set()
    for order, seq in slots.items():
        start, preview, final, completed = seq
        image_id = start["image_id"]
        ids.add(image_id)
        assert start == {"type": "json", "current_status": "start_stage", "image_id": image_id,
                         "order": order, "width": 832, "height": 1248}  # fmt: skip
        url = f"https://assets.grok.com/users/{uid}/generated/{image_id}/image.jpg"
        assert preview["type"] == "image" and preview["percentage_complete"] == 50
        assert preview["url"] == url and "id" not in preview
        assert (preview["width"], preview["height"]) == (832, 1248)
        assert final["percentage_complete"] == 100 and final["id"] == image_id
        assert final["url"] == url and final["order"] == order
        data = base64.b64decode(final["blob"])
        assert data == image_bytes(image_id, 832, 1248)
        assert data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
        assert base64.b64decode(preview["blob"]) == image_bytes(image_id, 832, 1248, preview=True)
        assert len(preview["blob"]) < len(final["blob"])
        assert completed == {"type": "json", "current_status": "completed", "image_id": image_id,
                             "moderated": False, "r_rated": False, "order": order}  # fmt: skip
        asset = sim.state.media.asset(f"users/{uid}/generated/{image_id}/image.jpg")
        assert asset is not None and asset.data == data and asset.mime == "image/jpeg"
    assert len(ids) == 2
    assert set(sim.state.media.images) == ids
    statuses = [f.get("current_status") for f in frames]
    assert statuses.index("completed") > max(
        i for i, s in enumerate(statuses) if s == "start_stage"
    )
    assert sim.state.media.remaining("tok-super", "image") == 98
    (rnd,) = sim.state.media.requests("ws_round")
    assert rnd.detail["prompt"] == "a red fox" and rnd.detail["num_generations"] == 2


def test_default_count_is_six_or_four_for_pro_and_pro_spends_image_pro(sim: Sim) -> None:
    with ws_connect(sim) as ws:
        speed = round_frames(ws, "cats", 6)
        pro = round_frames(ws, "cats", 4, pro=True, aspect="1:1")
        ws.send(item({"type": "reset"}))  # nothing more comes for this round without a request
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
    assert len(by_slot(speed)) == 6
    assert len(by_slot(pro)) == 4
    assert {(f["width"], f["height"]) for f in pro if "width" in f} == {(1024, 1024)}
    assert sim.state.media.remaining("tok-super", "image") == 94
    assert sim.state.media.remaining("tok-super", "imagePro") == 46


def test_images_per_round_caps_a_round_and_the_socket_serves_more_rounds(sim: Sim) -> None:
    sim.state.media.images_per_round = 2
    with ws_connect(sim) as ws:
        first = round_frames(ws, "boats", 2, n=3)
        second = round_frames(ws, "boats", 1, n=1)
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
    assert len(by_slot(first)) == 2 and len(by_slot(second)) == 1
    ids = [f["id"] for f in first + second if f.get("percentage_complete") == 100]
    assert len(set(ids)) == 3


def test_identical_requests_give_identical_bytes_after_a_reset(sim: Sim) -> None:
    def finals() -> list[bytes]:
        with ws_connect(sim) as ws:
            frames = round_frames(ws, "same", 2, n=2)
        return [base64.b64decode(f["blob"]) for f in frames if f.get("percentage_complete") == 100]

    once = finals()
    sim.state.reset()
    assert finals() == once
    assert once[0] != once[1]


@pytest.mark.parametrize("fault", ["moderate", "moderate_some"])
def test_moderation_faults(sim: Sim, fault: str) -> None:
    sim.state.media.inject("tok-super", fault)
    with ws_connect(sim) as ws:
        frames = round_frames(ws, "bad", 3, n=3)
        after = round_frames(ws, "fine", 1, n=1)
    moderated = {
        f["order"]: f["moderated"] for f in frames if f.get("current_status") == "completed"
    }
    finals = {f["order"] for f in frames if f.get("percentage_complete") == 100}
    if fault == "moderate":
        assert moderated == {0: True, 1: True, 2: True} and finals == set()
    else:
        assert moderated == {0: True, 1: False, 2: False} and finals == {1, 2}
    assert len(sim.state.media.images) == len(finals) + 1
    assert sim.state.media.remaining("tok-super", "image") == 100 - len(finals) - 1
    assert [f["moderated"] for f in after if f.get("current_status") == "completed"] == [False]


def test_ws_error_fault_sends_an_error_frame_then_the_next_round_works(sim: Sim) -> None:
    sim.state.media.inject("tok-super", "ws_error")
    with ws_connect(sim) as ws:
        (error,) = round_frames(ws, "x", 1, n=1)
        assert error["type"] == "error" and error["err_code"] == "internal" and error["err_msg"]
        assert len(by_slot(round_frames(ws, "x", 1, n=1))) == 1


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        json.dumps({"type": "session.create"}),
        item({"type": "input_audio"}),
        item({"requestId": "r", "text": "", "type": "input_text", "properties": {}}),
        item({"requestId": "r", "text": "x", "type": "input_text",
              "properties": {"num_generations": 0}}),
    ],
)  # fmt: skip
def test_unknown_frames_get_an_error_frame_and_the_socket_stays_open(sim: Sim, frame: str) -> None:
    with ws_connect(sim) as ws:
        ws.send(frame)
        error = recv(ws)
        assert error["type"] == "error" and error["err_code"] == "invalid_request"
        ws.send(b"\x00binary")
        assert recv(ws)["err_code"] == "invalid_request"
        assert len(by_slot(round_frames(ws, "ok", 1, n=1))) == 1


def test_a_request_without_a_reset_is_an_error(sim: Sim) -> None:
    with ws_connect(sim) as ws:
        ws.send(request_item("no reset", n=1))
        assert recv(ws)["err_code"] == "invalid_request"
        round_frames(ws, "with reset", 1, n=1)
        ws.send(request_item("reset is per round", n=1))
        assert recv(ws)["err_code"] == "invalid_request"


def _refused(sim: Sim, **kw: Any) -> Any:
    with pytest.raises(InvalidStatus) as info, ws_connect(sim, **kw):
        pass
    return info.value.response


@pytest.mark.parametrize(
    "cookie", ["", "sso=nobody; sso-rw=nobody", "sso=tok-super", "sso=tok-super; sso-rw=x"]
)
def test_the_handshake_needs_the_accounts_cookies(sim: Sim, cookie: str) -> None:
    response = _refused(sim, cookie=cookie)
    assert response.status_code == 401
    assert "invalid-credentials" in json.loads(response.body)["error"]["message"]
    assert response.headers["content-type"] == "application/json"


def test_handshake_faults_401_and_429(sim: Sim) -> None:
    sim.state.media.inject("tok-super", "ws_401")
    sim.state.media.inject("tok-super", "ws_429", retry_after=42)
    sim.state.media.inject("tok-super", "ws_429")
    assert _refused(sim).status_code == 401
    response = _refused(sim)
    assert response.status_code == 429 and response.headers["retry-after"] == "42"
    assert _refused(sim).headers["retry-after"] == "60"
    with ws_connect(sim) as ws:
        assert len(by_slot(round_frames(ws, "ok", 1, n=1))) == 1
    statuses = [r.detail["status"] for r in sim.state.media.requests("ws_connect")]
    assert statuses == [401, 429, 429, 101]


def test_media_faults_from_the_fault_endpoint_do_not_touch_chat_faults(sim: Sim) -> None:
    body = {"token": "tok-super", "fault": "ws_429", "retry_after": 7}
    assert sim.http.post("/__sim/faults", json=body).status_code == 204
    sim.state.inject("tok-super", "500")
    assert sim.chat().status_code == 500  # the chat fault, not the media one
    assert _refused(sim).headers["retry-after"] == "7"
    assert sim.chat().status_code == 200
    unknown = {"token": "nobody", "fault": "ws_401"}
    assert sim.http.post("/__sim/faults", json=unknown).status_code == 404
    bad = {"token": "tok-super", "fault": "ws_401", "times": 0}
    assert sim.http.post("/__sim/faults", json=bad).status_code == 400


def test_exhausted_image_quota_refuses_the_handshake_with_retry_after(sim: Sim) -> None:
    sim.state.media.set_remaining("tok-basic", "image", 1)
    with ws_connect(sim, "tok-basic") as ws:
        assert len(by_slot(round_frames(ws, "one left", 1, n=3))) == 1  # capped by the quota
        (error,) = round_frames(ws, "none left", 1, n=1)
        assert error["err_code"] == "rate_limit_exceeded"
    response = _refused(sim, token="tok-basic")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) == 86400
    sim.clock.advance(86400)
    with ws_connect(sim, "tok-basic"):
        pass


def test_public_urls_are_served_without_cookies(sim: Sim) -> None:
    sim.state.media.public_urls = True
    with ws_connect(sim) as ws:
        frames = round_frames(ws, "public", 1, n=1)
    final = next(f for f in frames if f.get("percentage_complete") == 100)
    image_id = final["id"]
    assert final["url"] == f"https://imagine-public.x.ai/imagine-public/images/{image_id}.jpg"
    response = sim.http.get(f"/imagine-public/images/{image_id}.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content == base64.b64decode(final["blob"])
    assert sim.http.get("/imagine-public/images/nope.jpg").status_code == 404


def test_no_statsig_is_needed_and_the_handshake_is_recorded(sim: Sim) -> None:
    with ws_connect(sim):
        pass
    (recorded,) = [r for r in sim.state.requests if r.path == IMAGINE_PATH]
    assert recorded.method == "GET" and recorded.token == "tok-super"
    assert "x-statsig-id" not in recorded.headers
    assert sim.state.chat_requests() == [] and CHAT_PATH != IMAGINE_PATH


@pytest.mark.parametrize(
    ("aspect", "size"),
    [("2:3", (832, 1248)), ("1:1", (1024, 1024)), ("16:9", (1280, 720)),
     ("9:16", (720, 1280)), ("3:2", (1248, 832)), ("auto", (1024, 1024)),
     ("bogus", (1024, 1024)), ("0:1", (1024, 1024))],
)  # fmt: skip
def test_dims(aspect: str, size: tuple[int, int]) -> None:
    assert dims(aspect) == size


def test_dims_of_other_ratios_are_multiples_of_16_near_one_megapixel() -> None:
    width, height = dims("19.5:9")
    assert width % 16 == 0 and height % 16 == 0 and width > height
    assert 0.9e6 < width * height < 1.1e6


def test_parse_item() -> None:
    assert parse_item(json.loads(item({"type": "reset"}))) == "reset"
    parsed = parse_item(json.loads(request_item("p", n=2, aspect="1:1", pro=True)))
    assert not isinstance(parsed, str) and parsed is not None
    assert (parsed.prompt, parsed.num_generations, parsed.aspect_ratio, parsed.enable_pro) == (
        "p", 2, "1:1", True,
    )  # fmt: skip
    assert parse_item({"type": "conversation.item.create"}) is None
    assert parse_item([]) is None


def test_a_client_leaving_mid_round_does_not_break_the_server(sim: Sim) -> None:
    with ws_connect(sim) as ws:
        ws.send(item({"type": "reset"}))
        ws.send(request_item("going away", n=6))
    with ws_connect(sim) as ws:
        assert len(by_slot(round_frames(ws, "still here", 1, n=1))) == 1


async def test_without_the_denial_extension_the_handshake_is_closed_before_accept() -> None:
    state = SimState()
    socket = ImagineSocket(state, time.time)
    scope = {"type": "websocket", "path": IMAGINE_PATH, "headers": [], "query_string": b""}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await socket.endpoint(WebSocket(scope, receive, send))
    assert [m["type"] for m in sent] == ["websocket.close"]
