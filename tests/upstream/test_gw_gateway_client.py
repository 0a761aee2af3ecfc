"""GrokGatewayClient.chat against a small in-test mgw WebSocket server (no simulator)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.server import serve

from grokgate.errors import (
    UpstreamError,
    UpstreamHandshakeError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    Verdict,
)
from grokgate.events import Finish, ReasoningDelta, Served, TextDelta
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.gateway import new_chat_x_grok
from grokgate.upstream.grokweb.web import GrokWeb
from tests.upstream.browser_support import UA, live_web, web_over
from tests.upstream.gateway_client_support import (
    ACCOUNT,
    BLOCKED,
    CREDENTIALS,
    DONE,
    SID,
    TOKEN,
    UID,
    Account,
    Any,
    Event,
    Factory,
    FakeGateway,
    FakeUserIds,
    GrokGatewayClient,
    collect,
    collect_until_error,
    frame,
    text,
    uploads,
)


@pytest.fixture
async def gateway() -> AsyncIterator[Factory]:
    servers: list[tuple[Any, FakeGateway]] = []
    webs: list[GrokWeb] = []

    async def start(**kw: Any) -> tuple[FakeGateway, GrokGatewayClient]:
        names = ("deadline", "heartbeat_seconds", "connect_timeout", "user_ids")
        options = {k: kw.pop(k) for k in names if k in kw}
        fake = FakeGateway(**kw)
        server = await serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request)
        servers.append((server, fake))
        port = server.sockets[0].getsockname()[1]
        web = web_over(
            httpx.AsyncClient(transport=httpx.MockTransport(uploads)),
            f"http://127.0.0.1:{port}/",
            cf_cookies="cf_clearance=cf1",
            sockets=True,
            deadline=options.get("deadline", 10.0),
            connect_timeout=options.get("connect_timeout", 5.0),
        )
        webs.append(web)
        client = GrokGatewayClient(
            web,
            user_ids=options.get("user_ids", FakeUserIds()),
            heartbeat_seconds=options.get("heartbeat_seconds", 25.0),
        )
        return fake, client

    yield start
    for server, fake in servers:
        fake.release.set()
        server.close()
        await server.wait_closed()
        for task in fake.tasks:
            task.cancel()
    for web in webs:
        await web.browser.aclose()


# --- a normal answer --------------------------------------------------------------------------


@pytest.mark.parametrize("attached_first", [False, True])
async def test_answer_events_and_one_served(gateway: Factory, attached_first: bool) -> None:
    fake, client = await gateway(attached_first=attached_first)
    events = await collect(client)
    assert events == [
        Served(account="acct_ws", transport="ws"),
        ReasoningDelta("Thinking."),
        TextDelta("Hello"),
        TextDelta(", world"),
        Finish(reason="stop"),
    ]
    await asyncio.wait_for(fake.closed.wait(), 5)
    assert fake.close_codes == [1000]  # the client closed normally


async def test_exact_client_frames_with_files(gateway: Factory) -> None:
    fake, client = await gateway()
    files = [Attachment("a.png", "image/png", b"\x89PNG"), Attachment("b.txt", "text/plain", b"x")]
    await collect(client, message="Describe these", attachments=files)
    create, item, response = fake.received[:3]
    init_id = create["event"]["event_id"]
    assert re.fullmatch(r"evt_init_[0-9a-f-]{36}", init_id)
    assert create == {
        "event": {
            "type": "session.create",
            "event_id": init_id,
            "session": {"model": "auto", "x_grok": new_chat_x_grok()},
        }
    }
    assert create["event"]["session"]["x_grok"] == json.loads(
        '{"protocol_capabilities":["conversation_attached","custom_methods_v1"],"use_chunk":true,'
        '"enable_side_by_side":true,"force_side_by_side":false,"enable_image_generation":true,'
        '"image_generation_count":2,"disable_text_follow_ups":false,"disable_artifact":true,'
        '"force_concise":false,"keep_context":false,"is_temporary":true,"disable_memory":true}'
    )
    event = item["event"]
    assert item["session_id"] == SID
    assert re.fullmatch(r"evt_msg_\d{13}", event["event_id"])
    message_id = event["item"]["x_grok"]["client_message_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", message_id)
    assert event == {
        "type": "conversation.item.create",
        "event_id": event["event_id"],
        "item": {
            "type": "message",
            "role": "user",
            "x_grok": {
                "client_message_id": message_id,
                "input_chunks": [
                    {"mention": {"target": {"file_mention": {"file_id": "file_a"}}}},
                    {"mention": {"target": {"file_mention": {"file_id": "file_b"}}}},
                    {"text": {"text": "Describe these"}},
                ],
            },
            "file_attachment_ids": ["file_a", "file_b"],
        },
        "file_attachment_ids": ["file_a", "file_b"],
    }
    assert set(item) == {"session_id", "event"}
    assert response["session_id"] == SID
    assert response["event"]["type"] == "response.create"
    assert re.fullmatch(r"evt_resp_\d{13}", response["event"]["event_id"])
    assert len(fake.received) == 3  # no ping within 25 s


async def test_handshake_url_and_headers(gateway: Factory) -> None:
    fake, client = await gateway()
    await collect(client)
    assert fake.paths == [f"/ws/mgw/?uid={UID}"]
    headers = fake.headers[0]
    assert headers["Origin"] == "https://grok.com"
    assert headers["User-Agent"] == UA
    assert headers["Cookie"] == f"sso={TOKEN}; sso-rw={TOKEN}; cf_clearance=cf1; x-userid={UID}"
    assert headers["Accept-Language"] == "zh-CN,zh;q=0.9,en;q=0.8"
    assert headers["Cache-Control"] == "no-cache" and headers["Pragma"] == "no-cache"
    assert "x-statsig-id" not in headers
    assert len(headers.get_all("User-Agent")) == 1


async def test_heartbeat_pings_until_done(gateway: Factory) -> None:
    fake, client = await gateway(delay=0.1, heartbeat_seconds=0.05)
    events = await collect(client)
    assert isinstance(events[-1], Finish)
    pings = [f for f in fake.received if f["event"]["type"] == "ping"]
    assert len(pings) >= 3
    assert all(re.fullmatch(r"evt_hb_\d{13}", p["event"]["event_id"]) for p in pings)
    assert all(set(p) == {"event"} for p in pings)
    types = [f["event"]["type"] for f in fake.received]
    assert types[:3] == ["session.create", "conversation.item.create", "response.create"]
    await asyncio.wait_for(fake.closed.wait(), 5)
    count = fake.pings()
    await asyncio.sleep(0.2)
    assert fake.pings() == count  # the heartbeat stopped with the answer


async def test_early_consumer_exit_closes_the_socket(gateway: Factory) -> None:
    fake, client = await gateway(end="stall", heartbeat_seconds=0.05)
    async with contextlib.aclosing(client.chat(ACCOUNT, "hi", "auto")) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
    await asyncio.wait_for(fake.closed.wait(), 5)
    assert fake.close_codes == [1000]
    count = fake.pings()
    await asyncio.sleep(0.2)
    assert fake.pings() == count


# --- failures after the socket opened ---------------------------------------------------------


@pytest.mark.parametrize("end", ["close", "drop"])
async def test_socket_closed_before_done(gateway: Factory, end: str) -> None:
    _, client = await gateway(answer=[text("Hel")], end=end)
    events: list[Event] = []
    with pytest.raises(UpstreamStreamError, match="stream broke") as info:
        await collect_until_error(client, events)
    assert info.value.verdict is Verdict.UNAVAILABLE
    assert not isinstance(info.value, UpstreamHandshakeError)
    assert events == [Served(account="acct_ws", transport="ws"), TextDelta("Hel")]


async def test_deadline(gateway: Factory) -> None:
    _, client = await gateway(answer=[text("slow")], end="stall", deadline=0.5)
    with pytest.raises(UpstreamTimeoutError, match="longer than"):
        await collect(client)


async def test_error_frame_after_served(gateway: Factory) -> None:
    error = {"code": "rate_limited", "message": "rate limited", "retry_after_seconds": 30}
    _, client = await gateway(answer=[frame("error", error=error)], end="close")
    events: list[Event] = []
    with pytest.raises(UpstreamStreamError) as info:
        await collect_until_error(client, events)
    assert events == [Served(account="acct_ws", transport="ws")]
    assert info.value.verdict is Verdict.RATE_LIMITED and info.value.retry_after == 30


async def test_done_without_text(gateway: Factory) -> None:
    _, client = await gateway(answer=[DONE])
    with pytest.raises(UpstreamStreamError, match="without any answer text"):
        await collect(client)


@pytest.mark.parametrize(
    ("on_create", "error", "verdict"),
    [
        ([{"event": {"type": "error", "error": {"code": "invalid_argument", "message": "bad"}}}],
         UpstreamStreamError, Verdict.UNAVAILABLE),
        ([{"event": {"type": "error", "error": {"code": "model_not_available", "message": "no"}}}],
         UpstreamStreamError, Verdict.MODE_UNAVAILABLE),
        ([frame("session.ended", reason="server_shutdown")], UpstreamStreamError,
         Verdict.UNAVAILABLE),
        ([frame("conversation.attached", conversation={"id": SID})], UpstreamTimeoutError,
         Verdict.UNAVAILABLE),
    ],
)  # fmt: skip
async def test_session_set_up_failures_come_before_served(
    gateway: Factory, on_create: list[dict[str, Any]], error: type[Exception], verdict: Verdict
) -> None:
    fake, client = await gateway(on_create=on_create, connect_timeout=0.5)
    events: list[Event] = []
    with pytest.raises(error) as info:
        await collect_until_error(client, events)
    assert events == []
    assert isinstance(info.value, UpstreamError) and info.value.verdict is verdict
    assert not isinstance(info.value, UpstreamHandshakeError)
    await asyncio.wait_for(fake.closed.wait(), 5)
    assert [f["event"]["type"] for f in fake.received] == ["session.create"]


# --- handshake failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body", "verdict"),
    [
        (401, {}, CREDENTIALS, Verdict.EXPIRED),
        (403, {}, BLOCKED, Verdict.BLOCKED),
        (403, {"cf-mitigated": "challenge"}, "<html>Just a moment...</html>", Verdict.CHALLENGED),
        (429, {"Retry-After": "42"}, "Too many requests", Verdict.RATE_LIMITED),
        (404, {}, "Not Found", Verdict.UNAVAILABLE),
        (502, {}, "Bad Gateway", Verdict.UNAVAILABLE),
        (503, {}, "", Verdict.UNAVAILABLE),
    ],
)
async def test_handshake_refusals(
    gateway: Factory, status: int, headers: dict[str, str], body: str, verdict: Verdict
) -> None:
    _, client = await gateway(refuse=(status, headers, body))
    events: list[Event] = []
    with pytest.raises(UpstreamHandshakeError) as info:
        await collect_until_error(client, events)
    assert events == []
    assert info.value.verdict is verdict
    assert info.value.upstream_status == status
    assert info.value.retry_after == (42 if status == 429 else None)
    assert TOKEN not in info.value.message and UID not in info.value.message
    assert info.value.__cause__ is not None


async def test_connection_refused() -> None:
    async with live_web("http://127.0.0.1:1") as web:
        client = GrokGatewayClient(web, user_ids=FakeUserIds())
        with pytest.raises(UpstreamHandshakeError, match="could not open") as info:
            await collect(client)
    assert info.value.verdict is Verdict.UNAVAILABLE


async def test_open_timeout() -> None:
    release = asyncio.Event()
    done: list[asyncio.Event] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        finished = asyncio.Event()
        done.append(finished)
        try:
            await reader.read(1 << 16)  # reads the upgrade request, never answers
            await release.wait()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            finished.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with live_web(f"http://127.0.0.1:{port}", connect_timeout=0.3) as web:
            client = GrokGatewayClient(web, user_ids=FakeUserIds())
            with pytest.raises(UpstreamHandshakeError, match="did not open") as info:
                await collect(client)
        assert info.value.verdict is Verdict.UNAVAILABLE
    finally:
        release.set()
        for finished in done:
            await asyncio.wait_for(finished.wait(), 2)
        server.close()
        await server.wait_closed()


async def test_user_id_errors_propagate_and_malformed_ids_are_refused(gateway: Factory) -> None:
    class Expired:
        async def get(self, account: Account) -> str:
            raise UpstreamError("unauthenticated", verdict=Verdict.EXPIRED)

    fake, client = await gateway(user_ids=Expired())
    with pytest.raises(UpstreamError) as info:
        await collect(client)
    assert info.value.verdict is Verdict.EXPIRED
    _, client = await gateway(user_ids=FakeUserIds("bad; x-userid=other"))
    with pytest.raises(UpstreamError, match="malformed"):
        await collect(client)
    assert fake.paths == []
