"""The simulator's WebSocket chat gateway (``/ws/mgw/``) and ``/api/auth/session`` over real
loopback: turns, answers equal to REST, files, recording and pings (docs/grok-protocol.md §5)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest
from websockets.exceptions import ConnectionClosedOK

from grokgate.simulator.answers import (
    SEARCH_URLS,
    files_note,
    rendered_text,
    search_results,
    thinking_text,
)
from grokgate.simulator.app import create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import CHAT_PATH, MGW_PATH, SESSION_PATH, SimState
from tests.simulator.gateway_support import (
    SEARCH_PROMPT,
    collect,
    init,
    interpret,
    item,
    mgw,
    open_session,
    ping,
    recv,
    respond,
    send,
    turn,
    types,
    upload,
)

if TYPE_CHECKING:
    from conftest import Sim


# happy path --------------------------------------------------------------------------------
async def test_happy_path_frame_sequence(sim: Sim) -> None:
    prompt = "[user]: hello there"
    async with mgw(sim) as ws:
        first = init("auto")
        await send(ws, first)
        created, attached = await recv(ws), await recv(ws)
        session_id = created["session_id"]
        assert created["event"]["type"] == "session.created"
        assert created["event"]["client_event_id"] == first["event"]["event_id"]
        assert created["event"]["session"] == {"id": session_id, "model": "auto"}
        assert attached == {
            "session_id": session_id,
            "event": {"type": "conversation.attached", "conversation": {"id": session_id}},
        }
        await send(ws, item(session_id, prompt))
        await send(ws, respond(session_id))
        frames, closed = await collect(ws)
    assert closed is None
    kinds = types(frames)
    assert kinds[0] == "response.created" and kinds[-1] == "response.done"
    assert set(kinds[1:-1]) == {"response.chunk"}
    assert all(f["session_id"] == session_id for f in frames)
    response_id = frames[-1]["event"]["response"]["id"]
    assert frames[-1]["event"]["response"] == {"id": response_id, "status": "completed"}
    assert frames[0]["event"]["response"]["id"] == response_id
    assert {f["event"]["response_id"] for f in frames[1:-1]} == {response_id}
    text, reasoning, sources = interpret(frames)
    assert (text, reasoning, sources) == (rendered_text(prompt), thinking_text(prompt, "auto"), [])
    assert sim.state.quota("tok-super", "auto")[1] == 49


@pytest.mark.parametrize("mode", ["auto", "fast", "expert"])
async def test_search_answer_equals_rest_token_for_token(sim: Sim, mode: str) -> None:
    frames, closed = await turn(sim, SEARCH_PROMPT, mode)
    assert closed is None
    text, reasoning, sources = interpret(frames)
    assert text == rendered_text(SEARCH_PROMPT)
    assert reasoning == thinking_text(SEARCH_PROMPT, mode)
    assert sources == list(SEARCH_URLS)
    (tool,) = [f["event"]["chunk"]["tool_result"] for f in frames if "tool_result" in str(f)]
    pages = [
        {"url": r["url"], "title": r["title"], "snippet": r["preview"]} for r in search_results()
    ]
    assert tool["web_search"]["webpages"] == pages and tool["tool_call_id"]
    (cite,) = [
        f["event"]["chunk"]["render_citation"] for f in frames if "render_citation" in str(f)
    ]
    assert cite["kind"] == "CITATION_KIND_WEB_PAGE" and cite["citation_id"] == "1"
    # REST: the same reasoning tokens, and final tokens with the render tag turned into a link
    rest = sim.frames(sim.chat(SEARCH_PROMPT, mode))
    responses = [f["result"].get("response", {}) for f in rest]
    thinking = [r["token"] for r in responses if "token" in r and r["isThinking"]]
    finals = [r["token"] for r in responses if "token" in r and not r["isThinking"]]
    chunks = [f["event"]["chunk"] for f in frames if f["event"]["type"] == "response.chunk"]
    thinking_chunks = [
        c["text"]["text"]
        for c in chunks
        if c.get("text", {}).get("channel") == "CHANNEL_ASSISTANT_THINKING"
    ]
    assert thinking_chunks == thinking
    linked = [f" [[1]]({SEARCH_URLS[0]})" if t.startswith("<grok:render") else t for t in finals]
    assert "".join(linked) == text


async def test_token_delay_paces_text_chunks() -> None:
    state = SimState()
    state.add_account("tok-super", "super")
    with ServerThread(create_app(state, token_delay=0.03)) as server:
        sim = _Bare(state, server.url)
        started = time.monotonic()
        frames, _ = await turn(sim, "[user]: one two three", "fast")
        elapsed = time.monotonic() - started
    chunks = [f for f in frames if f["event"]["type"] == "response.chunk"]
    assert len(chunks) >= 4 and elapsed >= 0.03 * len(chunks)


class _Bare:
    def __init__(self, state: SimState, url: str) -> None:
        self.state, self.url = state, url


# mode and quota ----------------------------------------------------------------------------
async def test_mode_not_in_tier_is_model_not_available(sim: Sim) -> None:
    frames, closed = await turn(sim, "[user]: hi", "auto", token="tok-basic")
    assert types(frames) == ["error"]
    assert frames[0]["event"]["error"] == {
        "code": "model_not_available",
        "message": "Model not available for this account",
    }
    assert isinstance(closed, ConnectionClosedOK) and closed.rcvd is not None
    assert closed.rcvd.code == 1000


async def test_exhausted_quota_is_rate_limited(sim: Sim) -> None:
    sim.state.set_remaining("tok-super", "expert", 0)
    frames, closed = await turn(sim, "[user]: hi", "expert")
    assert types(frames) == ["error"]
    error = frames[0]["event"]["error"]
    assert error["code"] == "rate_limited" and error["retry_after_seconds"] >= 1
    assert isinstance(closed, ConnectionClosedOK)


# files -------------------------------------------------------------------------------------
async def test_file_mentions_of_uploads_are_answered_like_rest(sim: Sim) -> None:
    ids = [upload(sim, name="a.png"), upload(sim, name="b.png")]
    prompt = "[user]: what is this?"
    frames, _ = await turn(sim, prompt, files=ids)
    files = [sim.state.uploads[i] for i in ids]
    assert interpret(frames)[0] == rendered_text(prompt, files)
    assert interpret(frames)[0].endswith(files_note(files))
    (record,) = sim.state.chat_requests()
    assert record.body["fileAttachments"] == ids


async def test_another_accounts_upload_is_not_found(sim: Sim) -> None:
    theirs = upload(sim, token="tok-heavy")
    frames, _ = await turn(sim, "[user]: hi", files=[theirs])
    assert frames[0]["event"]["error"] == {
        "code": "invalid_argument",
        "message": f"file not found: {theirs}",
    }


# recording and pings -----------------------------------------------------------------------
async def test_chat_requests_include_gateway_turns_in_order(sim: Sim) -> None:
    assert sim.chat("[user]: over rest", "fast").status_code == 200
    account = sim.state.accounts["tok-super"]
    async with mgw(sim) as ws:
        await send(ws, ping())
        session_id, _ = await open_session(ws, "expert")
        await send(ws, item(session_id, "[user]: over ws"))
        await send(ws, respond(session_id))
        await send(ws, ping())
        await collect(ws)
        await send(ws, ping())
    rest, ws_turn = sim.state.chat_requests()
    assert (rest.path, rest.body["message"]) == (CHAT_PATH, "[user]: over rest")
    assert (ws_turn.method, ws_turn.path, ws_turn.token) == ("WS", MGW_PATH, "tok-super")
    assert ws_turn.statsig_ok and ws_turn.headers["origin"] == "https://grok.com"
    assert ws_turn.headers["accept-language"] == "zh-CN,zh;q=0.9,en;q=0.8"
    assert ws_turn.cookies["x-userid"] == account.user_id and ws_turn.cookies["sso-rw"]
    body = ws_turn.body
    assert {k: body[k] for k in ("message", "modeId", "fileAttachments", "transport", "uid")} == {
        "message": "[user]: over ws",
        "modeId": "expert",
        "fileAttachments": [],
        "transport": "ws",
        "uid": account.user_id,
    }
    for _ in range(100):  # the last ping may still be queued when the close completes
        if len(body["events"]) == 6:
            break
        await asyncio.sleep(0.02)
    assert [e["event"]["type"] for e in body["events"]] == [
        "ping",
        "session.create",
        "conversation.item.create",
        "response.create",
        "ping",
        "ping",
    ]
    assert sim.state.gateway_pings() == 3 == sim.state.gateway_pings("tok-super")
    assert sim.state.gateway_pings("tok-heavy") == 0
    assert sim.state.stats()["accounts"][1]["chat_requests"] == 2


async def test_second_turn_on_one_socket_is_recorded_apart(sim: Sim) -> None:
    async with mgw(sim) as ws:
        session_id, _ = await open_session(ws)
        for prompt in ("[user]: one", "[user]: two"):
            await send(ws, item(session_id, prompt))
            await send(ws, respond(session_id))
            frames, _ = await collect(ws)
            assert interpret(frames)[0] == rendered_text(prompt)
    first, second = sim.state.chat_requests()
    assert first.body["events"][0]["event"]["type"] == "session.create"
    assert [e["event"]["type"] for e in second.body["events"]] == [
        "conversation.item.create",
        "response.create",
    ]


# /api/auth/session -------------------------------------------------------------------------
def session_of(sim: Sim, token: str | None) -> Any:
    headers = {"cookie": f"sso={token}; sso-rw={token}"} if token else {}
    response = sim.http.get(SESSION_PATH, headers={**headers, "accept": "application/json"})
    assert response.status_code == 200
    return response.json()


def test_auth_session_for_known_unknown_and_blocked_accounts(sim: Sim) -> None:
    account = sim.state.accounts["tok-heavy"]
    body = session_of(sim, "tok-heavy")
    assert body["status"] == "authenticated"
    assert body["session"]["userId"] == account.user_id == body["user"]["id"]
    assert body["session"]["expires"].endswith("Z")
    assert body["user"]["email"].endswith("@sim.grok") and body["user"]["tier"] == "heavy"
    assert session_of(sim, "tok-nobody") == {"status": "unauthenticated"}
    assert session_of(sim, None) == {"status": "unauthenticated"}
    sim.state.add_account("tok-banned", "basic", blocked=True)
    banned = sim.state.accounts["tok-banned"].user_id
    assert session_of(sim, "tok-banned") == {"status": "blocked", "user": {"id": banned}}
    assert [r.path for r in sim.state.requests] == [SESSION_PATH] * 4
    assert sim.state.chat_requests() == []
