"""The simulator's WebSocket chat gateway: handshake refusals, the ``gateway_refuse`` knob,
injected faults and protocol violations (docs/grok-protocol.md §5)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from websockets.exceptions import ConnectionClosedOK

from grokgate.simulator.answers import rendered_text
from grokgate.simulator.wire import BLOCKED, CF_CHALLENGE_HTML, HTTP_FAULTS, INVALID_CREDENTIALS
from tests.simulator.gateway_support import (
    Frame,
    collect,
    init,
    interpret,
    item,
    mgw,
    open_session,
    refused,
    respond,
    send,
    turn,
    types,
    upload,
    ws_turns,
)

if TYPE_CHECKING:
    from conftest import Sim


# handshake refusals ------------------------------------------------------------------------
UID_BODY = {
    "error": {"code": 7, "message": "Forbidden: uid does not match the session", "details": []}
}
ORIGIN_BODY = {"error": {"code": 7, "message": "Forbidden: bad origin", "details": []}}


@pytest.mark.parametrize(
    ("kw", "status", "body"),
    [
        ({"token": "tok-nobody"}, 401, INVALID_CREDENTIALS),
        ({"uid": "00000000-0000-0000-0000-000000000000"}, 403, UID_BODY),
        ({"uid": ""}, 403, UID_BODY),
        ({"x_userid": "someone-else"}, 403, UID_BODY),
        ({"origin": "https://evil.example"}, 403, ORIGIN_BODY),
        ({"origin": None}, 403, ORIGIN_BODY),
    ],
)
async def test_handshake_refusals(sim: Sim, kw: dict[str, Any], status: int, body: Frame) -> None:
    response = await refused(sim, **kw)
    assert response.status_code == status
    assert json.loads(response.body) == body
    assert ws_turns(sim) == []


async def test_blocked_account_is_refused_and_session_says_blocked(sim: Sim) -> None:
    sim.state.accounts["tok-super"].blocked = True
    response = await refused(sim)
    assert response.status_code == 403 and json.loads(response.body) == BLOCKED
    sim.state.reset()
    assert sim.state.accounts["tok-super"].blocked is False
    frames, _ = await turn(sim, "[user]: hi")
    assert types(frames)[-1] == "response.done"


async def test_gateway_refuse_knob(sim: Sim) -> None:
    assert sim.http.post("/__sim/gateway", json={"refuse": 404}).status_code == 204
    response = await refused(sim)
    assert (response.status_code, response.body) == (404, b"Not Found")
    assert sim.http.post("/__sim/gateway", json={"refuse": 403}).status_code == 204
    response = await refused(sim)
    assert response.status_code == 403 and response.headers["cf-mitigated"] == "challenge"
    assert response.body.decode() == CF_CHALLENGE_HTML
    assert sim.http.post("/__sim/gateway", json={"refuse": 500}).status_code == 400
    assert sim.http.post("/__sim/gateway", json={"refuse": None}).status_code == 204
    assert sim.state.gateway_refuse is None
    sim.state.gateway_refuse = 404
    sim.state.reset()
    assert sim.state.gateway_refuse is None
    frames, _ = await turn(sim, "[user]: hi")
    assert types(frames)[-1] == "response.done"


# faults ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["401", "403_cf", "403_blocked", "429", "500", "502", "503"])
async def test_handshake_faults_answer_like_rest_once(sim: Sim, name: str) -> None:
    sim.state.inject("tok-super", name, retry_after=17)
    response = await refused(sim)
    status, payload = HTTP_FAULTS[name]
    assert response.status_code == status
    if isinstance(payload, str):
        assert response.body.decode() == payload
    else:
        assert json.loads(response.body) == payload
    if name == "403_cf":
        assert response.headers["cf-mitigated"] == "challenge"
    if name == "429":
        assert response.headers["retry-after"] == "17"
    frames, _ = await turn(sim, "[user]: hi")
    assert types(frames)[-1] == "response.done"


async def test_turn_fault_is_not_taken_at_the_handshake(sim: Sim) -> None:
    sim.state.inject("tok-super", "inband_error")
    sim.state.inject("tok-super", "401")
    frames, _ = await turn(sim, "[user]: hi")
    assert frames[0]["event"]["error"] == {"code": "rate_limited", "message": "rate limited"}
    assert (await refused(sim)).status_code == 401
    frames, _ = await turn(sim, "[user]: hi")
    assert types(frames)[-1] == "response.done"


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("403_antibot", "anti_bot", "Request rejected by anti-bot rules."),
        ("inband_error", "rate_limited", "rate limited"),
    ],
)
async def test_inband_error_faults(sim: Sim, name: str, code: str, message: str) -> None:
    sim.state.inject("tok-super", name)
    frames, closed = await turn(sim, "[user]: hi")
    assert types(frames) == ["error"]
    assert frames[0]["event"]["error"] == {"code": code, "message": message}
    assert isinstance(closed, ConnectionClosedOK)
    assert sim.state.quota("tok-super", "auto")[1] == 50  # no quota spent


async def test_inband_response_error_fault(sim: Sim) -> None:
    sim.state.inject("tok-super", "inband_response_error")
    frames, closed = await turn(sim, "[user]: hi")
    assert types(frames) == ["response.created", "response.grok.output"]
    assert frames[1]["event"]["output"] == {
        "stream_error": {
            "message": "ResourceExhausted: perf_based_admission_controller",
            "severity": "STREAM_ERROR_SEVERITY_NORMAL",
        }
    }
    assert isinstance(closed, ConnectionClosedOK)


async def test_cut_fault_drops_without_close_frame(sim: Sim) -> None:
    sim.state.inject("tok-super", "cut", after=2)
    frames, closed = await turn(sim, "[user]: hi")
    assert types(frames) == ["response.created", "response.chunk", "response.chunk"]
    assert closed is not None and not isinstance(closed, ConnectionClosedOK)
    assert closed.rcvd is None  # abnormal closure, 1006
    assert sim.state.quota("tok-super", "auto")[1] == 49


async def test_truncate_fault_ends_the_session_cleanly(sim: Sim) -> None:
    sim.state.inject("tok-super", "truncate", after=3)
    frames, closed = await turn(sim, "[user]: hi")
    kinds = types(frames)
    assert kinds == ["response.created", *["response.chunk"] * 3, "session.ended"]
    assert frames[-1]["event"]["reason"] == "server_shutdown"
    assert isinstance(closed, ConnectionClosedOK) and closed.rcvd is not None
    assert closed.rcvd.code == 1000
    assert sim.state.quota("tok-super", "auto")[1] == 49


async def test_slow_fault_delays_then_answers(sim: Sim) -> None:
    sim.state.inject("tok-super", "slow", delay=0.3)
    started = time.monotonic()
    frames, _ = await turn(sim, "[user]: hi")
    assert time.monotonic() - started >= 0.3
    assert interpret(frames)[0] == rendered_text("[user]: hi")


# protocol violations -----------------------------------------------------------------------
def _bad_files(session_id: str) -> Frame:
    frame = item(session_id, "[user]: hi")
    frame["event"]["file_attachment_ids"] = ["x"]
    return frame


def _assistant(session_id: str) -> Frame:
    frame = item(session_id, "[user]: hi")
    frame["event"]["item"]["role"] = "assistant"
    return frame


Builder = Callable[[str], Frame | str]
VIOLATIONS: list[tuple[str, bool, list[Builder], str]] = [  # id, open a session first, frames
    ("first-not-create", False, [lambda s: item("x", "[user]: hi")], "must be session.create"),
    ("not-json", False, [lambda s: "hello"], "JSON object"),
    ("event-id", False, [lambda s: init(event_id="evt_x")], "evt_init_"),
    ("model", False, [lambda s: init("grok-9")], "unknown model 'grok-9'"),
    ("no-x-grok", False, [lambda s: init(x_grok=None)], "conversation_attached"),
    ("no-cap", False, [lambda s: init(x_grok={"protocol_capabilities": []})], "conversation_att"),
    ("create-twice", True, [lambda s: init()], "already exists"),
    ("item-session", True, [lambda s: item("other", "[user]: hi")], "session_id"),
    ("role", True, [_assistant], "role"),
    ("no-text", True, [lambda s: item(s, None)], "no text chunk"),
    ("empty", True, [lambda s: item(s, "")], "empty prompt"),
    ("unknown-file", True, [lambda s: item(s, "[user]: hi", ["nope"])], "file not found: nope"),
    ("unknown-id", True, [_bad_files], "file not found: x"),
    ("respond-first", True, [respond], "response.create before conversation.item.create"),
    ("respond-session", True, [lambda s: item(s, "hi"), lambda s: respond("x")], "session_id"),
    ("item-twice", True, [lambda s: item(s, "hi"), lambda s: item(s, "hi")], "in progress"),
]


@pytest.mark.parametrize(
    ("needs_session", "frames", "problem"),
    [v[1:] for v in VIOLATIONS],
    ids=[v[0] for v in VIOLATIONS],
)
async def test_protocol_violations_are_invalid_argument(
    sim: Sim, needs_session: bool, frames: list[Builder], problem: str
) -> None:
    async with mgw(sim) as ws:
        session_id = (await open_session(ws))[0] if needs_session else "-"
        for build in frames:
            await send(ws, build(session_id))
        got, closed = await collect(ws)
    assert types(got) == ["error"]
    error = got[-1]["event"]["error"]
    assert error["code"] == "invalid_argument" and problem in error["message"]
    assert isinstance(closed, ConnectionClosedOK)
    assert sim.state.quota("tok-super", "auto")[1] == 50


async def test_mentions_must_match_file_attachment_ids(sim: Sim) -> None:
    file_id = upload(sim)
    async with mgw(sim) as ws:
        session_id, _ = await open_session(ws)
        frame = item(session_id, "[user]: hi", [file_id])
        frame["event"]["file_attachment_ids"] = []
        await send(ws, frame)
        got, _ = await collect(ws)
    assert got[0]["event"]["error"]["code"] == "invalid_argument"
    assert "file_attachment_ids" in got[0]["event"]["error"]["message"]
