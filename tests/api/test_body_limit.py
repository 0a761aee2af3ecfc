"""The request body size limit: the middleware alone (fake ASGI), then a live gateway."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from grokgate.api.app import render_error
from grokgate.api.limits import BodySizeLimit, declared_length
from grokgate.config import Settings
from grokgate.errors import InvalidRequestError, RequestTooLargeError
from tests.support import API_KEY, GatewayFactory

LIMIT = 100


def http_scope(path: str = "/v1/chat/completions", length: int | None = None) -> Scope:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "headers": headers,
    }


class Wire:
    """The server's side: hands out ``chunks`` as the body, records what was pulled and sent."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.pulled >= len(self.chunks):
            return {"type": "http.disconnect"}
        self.pulled += 1
        more = self.pulled < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.pulled - 1], "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> dict[str, Any]:
        data = b"".join(m.get("body", b"") for m in self.sent[1:])
        parsed: dict[str, Any] = json.loads(data)
        return parsed


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, answers 200 with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def swallowing_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Turns any failed read into its own 400, as FastAPI's body parsing does."""
    try:
        await echo_app(scope, receive, send)
    except Exception:
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"parse error"})


def limited(app: Any = echo_app) -> BodySizeLimit:
    return BodySizeLimit(app, max_bytes=LIMIT, render=render_error)


async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    called = False

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal called
        called = True

    wire = Wire([b"x" * (LIMIT + 1)])
    await limited(app)(http_scope(length=LIMIT + 1), wire.receive, wire.send)
    assert not called and wire.pulled == 0
    assert wire.status == 413
    assert wire.body["error"]["code"] == "request_too_large"
    assert wire.body["error"]["type"] == "invalid_request_error"


async def test_a_body_of_exactly_the_limit_passes() -> None:
    wire = Wire([b"x" * 60, b"y" * 40])
    await limited()(http_scope(length=LIMIT), wire.receive, wire.send)
    assert wire.status == 200 and wire.sent[1]["body"] == b"100"


async def test_a_chunked_body_is_cut_off_at_the_read_that_goes_over() -> None:
    wire = Wire([b"x" * 60, b"y" * 60, b"z" * 60, b"w" * 60])
    await limited(swallowing_app)(http_scope(), wire.receive, wire.send)
    assert wire.pulled == 2  # nothing read after the chunk that went over
    assert wire.status == 413  # the app's own 400 was replaced
    assert wire.body["error"]["code"] == "request_too_large"
    assert b"parse error" not in b"".join(m.get("body", b"") for m in wire.sent)


async def test_an_app_that_lets_the_failed_read_raise_gets_the_413_too() -> None:
    wire = Wire([b"x" * 70, b"y" * 70])
    await limited()(http_scope(), wire.receive, wire.send)
    assert wire.status == 413


async def test_the_413_is_in_anthropic_format_on_messages() -> None:
    wire = Wire([b"x" * 200])
    await limited()(http_scope("/v1/messages", length=200), wire.receive, wire.send)
    assert wire.status == 413
    assert wire.body == {
        "type": "error",
        "error": {"type": "request_too_large", "message": wire.body["error"]["message"]},
    }
    wire = Wire([b"x" * 70, b"y" * 70])
    await limited()(http_scope("/v1/messages/count_tokens"), wire.receive, wire.send)
    assert wire.status == 413 and wire.body["error"]["type"] == "request_too_large"


async def test_other_failures_are_not_mistaken_for_the_limit() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise InvalidRequestError("something else")

    wire = Wire([b"x" * 10])
    with pytest.raises(InvalidRequestError):
        await limited(broken)(http_scope(), wire.receive, wire.send)
    assert wire.sent == []


async def test_a_response_already_started_is_not_replaced() -> None:
    async def early(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await receive()

    wire = Wire([b"x" * 70, b"y" * 70])
    with pytest.raises(RequestTooLargeError):  # the server ends the response
        await limited(early)(http_scope(), wire.receive, wire.send)
    assert [m["type"] for m in wire.sent] == ["http.response.start"]


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    wire = Wire([])
    await limited(app)({"type": "lifespan"}, wire.receive, wire.send)
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    ("value", "expected"), [(b"12", 12), (b" 7 ", 7), (b"abc", None), (b"\xb2", None), (b"", None)]
)
def test_declared_length_reads_only_numbers(value: bytes, expected: int | None) -> None:
    scope = {**http_scope(), "headers": [(b"content-length", value)]}
    assert declared_length(scope) == expected


def test_the_default_admits_the_largest_legitimate_request() -> None:
    settings = Settings(_env_file=None)
    base64_attachments = 4 * math.ceil(settings.max_request_attachment_bytes / 3)
    assert settings.max_body_bytes >= base64_attachments + 8 * 1024 * 1024  # + a conversation


# --- a live gateway ------------------------------------------------------------------------

HEADERS = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}


def chunks(total: int, size: int = 1000, head: bytes = b"") -> Iterator[bytes]:
    yield head
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


# the start of a valid multipart body, so the form parser reads on
MULTIPART_HEAD = b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n'


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/images/edits"])
def test_live_gateway_refuses_oversized_bodies(make_gateway: GatewayFactory, path: str) -> None:
    gw = make_gateway(max_body_bytes=10_000)
    headers, head = dict(HEADERS), b""
    if path == "/v1/images/edits":  # read only when it is multipart
        headers["content-type"] = "multipart/form-data; boundary=xyz"
        head = MULTIPART_HEAD
    with httpx.Client(base_url=gw.url, headers=headers, timeout=10) as client:
        declared = client.post(path, content=b" " * 10_001)
        streamed = client.post(path, content=chunks(50_000, head=head))  # chunked
        assert "content-length" not in streamed.request.headers
        under = client.post(path, content=b" " * 10_000)  # the limit itself is allowed
        after = client.get("/v1/models")  # the connection is still good
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        body = answer.json()
        if path.startswith("/v1/messages"):
            assert body["type"] == "error" and body["error"]["type"] == "request_too_large"
        else:
            assert body["error"]["code"] == "request_too_large"
            assert body["error"]["type"] == "invalid_request_error"
    assert under.status_code == 400  # an empty-looking body: a plain client error
    assert after.status_code == 200


def test_live_gateway_limit_comes_before_auth_and_keeps_cors(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(max_body_bytes=1000, cors_origins="https://app.example")
    answer = httpx.post(
        f"{gw.url}/v1/chat/completions",
        content=b"{" * 2000,
        headers={"origin": "https://app.example", "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 413
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
