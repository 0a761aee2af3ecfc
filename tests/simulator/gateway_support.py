"""Client helpers for the simulator's WebSocket chat gateway tests (``websockets`` asyncio
client; frames as docs/grok-protocol.md §5 has grokgate send them)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Protocol

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from grokgate.simulator.state import MGW_PATH, UPLOAD_PATH, SimState
from grokgate.simulator.uploads import tiny_png
from grokgate.upstream.grokweb.gateway import new_chat_x_grok


class SimLike(Protocol):
    """What the helpers need of the ``sim`` fixture (or of a server a test starts itself)."""

    state: SimState
    url: str


Frame = dict[str, Any]

X_GROK = new_chat_x_grok()  # exactly what grokgate's gateway client sends
SEARCH_PROMPT = "[user]: please search the web for cats"


# client helpers ----------------------------------------------------------------------------
def mgw(
    sim: SimLike,
    token: str = "tok-super",
    *,
    uid: str | None = None,
    x_userid: str | None = None,
    origin: str | None = "https://grok.com",
) -> Any:
    account = sim.state.accounts.get(token)
    uid = uid if uid is not None else (account.user_id if account else "no-such-user")
    cookie = f"sso={token}; sso-rw={token}; x-userid={x_userid or uid}"
    headers = {
        "Cookie": cookie,
        "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
    }
    base = sim.url.replace("http://", "ws://")
    query = f"?uid={uid}" if uid else ""
    return connect(
        base + MGW_PATH + query,
        additional_headers=headers,
        origin=Origin(origin) if origin is not None else None,
        open_timeout=5,
        close_timeout=2,
    )


def init(mode: str = "auto", event_id: str | None = None, x_grok: Any = X_GROK) -> Frame:
    session: Frame = {"model": mode}
    if x_grok is not None:
        session["x_grok"] = x_grok
    event_id = event_id or f"evt_init_{uuid.uuid4()}"
    return {"event": {"type": "session.create", "event_id": event_id, "session": session}}


def item(session_id: str, prompt: str | None, files: list[str] | None = None) -> Frame:
    ids = list(files or [])
    chunks: list[Frame] = [{"mention": {"target": {"file_mention": {"file_id": i}}}} for i in ids]
    if prompt is not None:
        chunks.append({"text": {"text": prompt}})
    x_grok = {"client_message_id": str(uuid.uuid4()), "input_chunks": chunks}
    message = {"type": "message", "role": "user", "x_grok": x_grok, "file_attachment_ids": ids}
    event = {"type": "conversation.item.create", "event_id": f"evt_msg_{time.time_ns()}"}
    return {
        "session_id": session_id,
        "event": event | {"item": message, "file_attachment_ids": ids},
    }


def respond(session_id: str) -> Frame:
    event = {"type": "response.create", "event_id": f"evt_resp_{time.time_ns()}"}
    return {"session_id": session_id, "event": event}


def ping() -> Frame:
    return {"event": {"type": "ping", "event_id": f"evt_hb_{time.time_ns()}"}}


async def send(ws: ClientConnection, frame: Frame | str) -> None:
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))


async def recv(ws: ClientConnection) -> Frame:
    frame: Frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return frame


async def open_session(ws: ClientConnection, mode: str = "auto") -> tuple[str, list[Frame]]:
    frame = init(mode)
    await send(ws, frame)
    got = [await recv(ws), await recv(ws)]
    return got[0]["session_id"], got


async def collect(ws: ClientConnection) -> tuple[list[Frame], ConnectionClosed | None]:
    """Frames until ``response.done`` (None) or the server closing (the exception)."""
    frames: list[Frame] = []
    while True:
        try:
            frame = await recv(ws)
        except ConnectionClosed as exc:
            return frames, exc
        frames.append(frame)
        if frame["event"]["type"] == "response.done":
            return frames, None


async def turn(
    sim: SimLike,
    prompt: str,
    mode: str = "auto",
    token: str = "tok-super",
    files: list[str] | None = None,
) -> tuple[list[Frame], ConnectionClosed | None]:
    async with mgw(sim, token) as ws:
        session_id, _ = await open_session(ws, mode)
        await send(ws, item(session_id, prompt, files))
        await send(ws, respond(session_id))
        return await collect(ws)


def types(frames: list[Frame]) -> list[str]:
    return [f["event"]["type"] for f in frames]


def interpret(frames: list[Frame]) -> tuple[str, str, list[str]]:
    """(answer text, reasoning, source urls) as docs/grok-protocol.md §5.4 tells a client to read
    them."""
    text = reasoning = ""
    sources: list[str] = []
    for frame in frames:
        event = frame["event"]
        if event["type"] != "response.chunk":
            continue
        chunk = event["chunk"]
        if "text" in chunk:
            channel = chunk["text"]["channel"]
            if channel == "CHANNEL_ASSISTANT_RESPONSE":
                text += chunk["text"]["text"]
            elif channel == "CHANNEL_ASSISTANT_THINKING":
                reasoning += chunk["text"]["text"]
        elif "render_citation" in chunk:
            cite = chunk["render_citation"]
            text += f" [[{cite['citation_id']}]]({cite['url']})"
        elif "tool_result" in chunk:
            sources += [page["url"] for page in chunk["tool_result"]["web_search"]["webpages"]]
    return text, reasoning, sources


def upload(sim: SimLike, token: str = "tok-super", name: str = "cat.png") -> str:
    response = sim.http.post(
        UPLOAD_PATH,
        files={"file": (name, tiny_png(), "image/png")},
        headers={"cookie": f"sso={token}; sso-rw={token}"},
    )
    file_id: str = response.json()["fileMetadata"]["fileMetadataId"]
    return file_id


async def refused(sim: SimLike, **kw: Any) -> Any:
    with pytest.raises(InvalidStatus) as info:
        async with mgw(sim, **kw):
            pass  # pragma: no cover
    return info.value.response


def ws_turns(sim: SimLike) -> list[Any]:
    return [r for r in sim.state.requests if r.path == MGW_PATH]
