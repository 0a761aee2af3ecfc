"""A small in-test mgw WebSocket server and helpers for the GrokGatewayClient tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from grokgate.events import Event
from grokgate.stores.records import Account
from grokgate.upstream.grokweb.gateway import GrokGatewayClient
from grokgate.upstream.grokweb.upload import UPLOAD_PATH

TOKEN = "sso-gateway-test-eyJhbGciOiJIUzI1NiJ9"
UID = "0b9c1f3e-5d7a-4e2b-9c8d-1a2b3c4d5e6f"
ACCOUNT = Account(id="acct_ws", token=SecretStr(TOKEN))
SID = "sess-1"
CREDENTIALS = (
    '{"error":{"code":16,"message":"Failed to look up session ID. '
    '[WKE=unauthorized:invalid-credentials]","details":[]}}'
)
BLOCKED = (
    '{"error":{"code":7,"message":"User is blocked: Bot abuse - free tier account '
    '[WKE=unauthorized:blocked-user]","details":[]}}'
)


def frame(kind: str, **fields: Any) -> dict[str, Any]:
    return {"session_id": SID, "event": {"type": kind, **fields}}


def text(tok: str, channel: str = "CHANNEL_ASSISTANT_RESPONSE") -> dict[str, Any]:
    return frame("response.chunk", chunk={"text": {"text": tok, "channel": channel}})


DONE = frame("response.done", response={"id": "r1", "status": "completed"})
ANSWER = [text("Thinking.", "CHANNEL_ANALYSIS"), text("Hello"), text(", world"), DONE]


@dataclass
class FakeGateway:
    """Answers session.create, then plays ``answer`` after response.create; ``end`` says what
    happens after it: ``None`` (nothing), ``"close"`` (normal close), ``"drop"`` (no close
    frame), ``"stall"`` (waits for ``release``)."""

    answer: list[dict[str, Any]] = field(default_factory=lambda: list(ANSWER))
    end: str | None = None
    delay: float = 0.0  # before each answer frame
    refuse: tuple[int, dict[str, str], str] | None = None
    attached_first: bool = False
    on_create: list[dict[str, Any]] | None = None  # instead of created + attached
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[Headers] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.headers.append(request.headers)
        self.paths.append(request.path)
        if self.refuse is None:
            return None
        status, headers, body = self.refuse
        response = connection.respond(status, body)
        for key, value in headers.items():
            response.headers[key] = value
        return response

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                data = json.loads(message)
                self.received.append(data)
                event = data["event"]
                if event["type"] == "session.create":
                    await self._created(ws, event)
                elif event["type"] == "response.create":
                    self.tasks.append(asyncio.create_task(self._answer(ws)))
        except ConnectionClosed:
            pass
        finally:
            self.close_codes.append(ws.close_code)
            self.closed.set()

    async def _created(self, ws: ServerConnection, event: dict[str, Any]) -> None:
        if self.on_create is not None:
            for item in self.on_create:
                await ws.send(json.dumps(item))
            return
        created = frame("session.created", event_id="srv_1", client_event_id=event["event_id"],
                        session={"id": SID, "model": event["session"]["model"]})  # fmt: skip
        attached = frame("conversation.attached", conversation={"id": SID})
        for item in [attached, created] if self.attached_first else [created, attached]:
            await ws.send(json.dumps(item))

    async def _answer(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            for item in self.answer:
                await asyncio.sleep(self.delay)
                await ws.send(json.dumps(item))
            if self.end == "close":
                await ws.close()
            elif self.end == "drop":
                ws.transport.abort()
            elif self.end == "stall":
                await self.release.wait()

    def pings(self) -> int:
        return sum(1 for f in self.received if f["event"]["type"] == "ping")


class FakeUserIds:
    def __init__(self, uid: str = UID) -> None:
        self.uid = uid
        self.asked: list[str] = []

    async def get(self, account: Account) -> str:
        self.asked.append(account.id)
        return self.uid


def uploads(request: httpx.Request) -> httpx.Response:
    assert request.url.path == UPLOAD_PATH
    name = re.search(rb'filename="([^"]+)"', request.content)
    assert name is not None
    file_id = "file_" + name.group(1).decode().split(".")[0]
    return httpx.Response(200, json={"fileMetadata": {"fileMetadataId": file_id}})


Factory = Callable[..., Awaitable[tuple[FakeGateway, GrokGatewayClient]]]


async def collect(client: GrokGatewayClient, **kw: Any) -> list[Event]:
    return [event async for event in client.chat(ACCOUNT, kw.pop("message", "hi"), "auto", **kw)]


async def collect_until_error(client: GrokGatewayClient, events: list[Event]) -> None:
    async for event in client.chat(ACCOUNT, "hi", "auto"):
        events.append(event)
