"""Upload v2 from GrokWebClient: against the simulator (loopback) and a MockTransport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.errors import UpstreamError, UpstreamTimeoutError, Verdict
from grokgate.events import Event, Served, TextDelta
from grokgate.simulator.answers import final_text
from grokgate.simulator.app import create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from grokgate.simulator.uploads import tiny_png
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.statsig import InProcessSigner
from grokgate.upstream.grokweb.upload import (
    UPLOAD_PATH,
    multipart,
    parse_upload,
    upload_file,
    upload_headers,
)
from tests.upstream.browser_support import FINGERPRINT, UA, live_web, web_over

TOKEN = "sso-upload-test-eyJhbGciOiJIUzI1NiJ9"
OTHER = "sso-upload-other-eyJhbGciOiJIUzI1NiJ9"
PNG = Attachment("cat.png", "image/png", tiny_png())
NOTES = Attachment("notes.txt", "text/plain", b"line one\nline two\n")
MESSAGE = "[user]: describe the files"


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[SimState, str]]:
    state = SimState()
    state.add_account(TOKEN, "super")
    state.add_account(OTHER, "super")
    with ServerThread(create_app(state)) as server:
        yield state, server.url


@pytest.fixture
async def web(simulator: tuple[SimState, str]) -> AsyncIterator[tuple[SimState, GrokWebClient]]:
    state, url = simulator
    state.reset()
    signer = InProcessSigner(bytes.fromhex(DEMO_STATSIG_HEADER_HEX), DEMO_STATSIG_SUFFIX)
    async with live_web(url) as grok:
        yield state, GrokWebClient(grok, signer=signer)


def account(token: str = TOKEN) -> Account:
    return Account(id="acct_upload", token=SecretStr(token))


async def collect(client: GrokWebClient, *files: Attachment, token: str = TOKEN) -> list[Event]:
    events: list[Event] = []
    async for event in client.chat(account(token), MESSAGE, "auto", attachments=files):
        events.append(event)
    return events


async def test_uploaded_ids_reach_the_chat_body(web: tuple[SimState, GrokWebClient]) -> None:
    state, client = web
    events = await collect(client, PNG, NOTES)
    assert isinstance(events[0], Served)
    uploads = state.upload_requests()
    assert [r.body["name"] for r in uploads] == ["cat.png", "notes.txt"]
    (chat,) = state.chat_requests()
    ids = chat.body["fileAttachments"]
    assert [state.uploads[i].data for i in ids] == [PNG.data, NOTES.data]
    assert [state.uploads[i].mime for i in ids] == ["image/png", "text/plain"]
    assert all(state.uploads[i].token == TOKEN for i in ids)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == final_text(MESSAGE, [state.uploads[i] for i in ids])
    note = f"[files: cat.png (image/png, {len(PNG.data)} bytes); notes.txt (text/plain, 18 bytes)]"
    assert text.endswith(note)


async def test_upload_headers_are_the_browsers(web: tuple[SimState, GrokWebClient]) -> None:
    state, client = web
    await collect(client, PNG)
    (recorded,) = state.upload_requests()
    headers = recorded.headers
    assert recorded.cookies["sso"] == recorded.cookies["sso-rw"] == TOKEN
    assert "x-statsig-id" not in headers and "x-xai-request-id" not in headers
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert headers["user-agent"] == UA and headers["origin"] == "https://grok.com"
    assert headers["referer"] == "https://grok.com/"
    (chat,) = state.chat_requests()
    assert chat.statsig_ok and "x-xai-request-id" in chat.headers


async def test_without_attachments_nothing_is_uploaded(web: tuple[SimState, GrokWebClient]) -> None:
    state, client = web
    await collect(client)
    assert state.upload_requests() == []
    assert state.chat_requests()[0].body["fileAttachments"] == []


async def test_a_terminal_error_stops_before_the_chat(web: tuple[SimState, GrokWebClient]) -> None:
    state, client = web
    state.max_upload_bytes = 8
    with pytest.raises(UpstreamError) as info:
        await collect(client, NOTES)
    assert info.value.code == "upload_rejected" and info.value.retryable is False
    assert "notes.txt" in info.value.message and "larger than 8 bytes" in info.value.message
    assert state.chat_requests() == []


async def test_an_unknown_account_is_expired(web: tuple[SimState, GrokWebClient]) -> None:
    state, client = web
    served: list[Event] = []
    with pytest.raises(UpstreamError) as info:
        async for event in client.chat(
            account("sso-nobody-1234567"), MESSAGE, "auto", attachments=[PNG]
        ):
            served.append(event)
    assert served == []  # nothing is served before the uploads succeed
    assert info.value.verdict is Verdict.EXPIRED and info.value.upstream_status == 401
    assert state.chat_requests() == []


def mock(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


@pytest.mark.parametrize(
    ("status", "body", "headers", "verdict"),
    [
        (429, '{"error":{"code":8,"message":"Too many requests"}}', {"retry-after": "30"}, "rl"),
        (403, "<html>Just a moment...</html>", {"cf-mitigated": "challenge"}, "cf"),
        (401, '{"error":{"message":"[WKE=unauthorized:invalid-credentials]"}}', {}, "exp"),
        (503, '{"error":{"code":14,"message":"unavailable"}}', {}, "down"),
    ],
)
async def test_http_failures_are_classified_like_chat(
    status: int, body: str, headers: dict[str, str], verdict: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == UPLOAD_PATH
        return httpx.Response(status, text=body, headers=headers)

    async with mock(httpx.MockTransport(handler)) as http:
        grok = web_over(http, "https://grok.test")
        with pytest.raises(UpstreamError) as info:
            await upload_file(grok, await grok.egress(account()), account(), PNG)
    expected = {
        "rl": Verdict.RATE_LIMITED,
        "cf": Verdict.CHALLENGED,
        "exp": Verdict.EXPIRED,
        "down": Verdict.UNAVAILABLE,
    }[verdict]
    assert info.value.verdict is expected and info.value.upstream_status == status
    if verdict == "rl":
        assert info.value.retry_after == 30
    assert TOKEN not in info.value.message


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ReadTimeout("slow"), UpstreamTimeoutError),
        (httpx.ConnectError("down"), UpstreamError),
    ],
)
async def test_network_failures(error: Exception, kind: type[UpstreamError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    async with mock(httpx.MockTransport(handler)) as http:
        grok = web_over(http, "https://grok.test")
        with pytest.raises(kind) as info:
            await upload_file(grok, await grok.egress(account()), account(), PNG)
    assert info.value.retryable


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"uploadId":"u1","terminalError":null,"fileMetadata":{"fileMetadataId":"m1"}}', "m1"),
        (b'{"uploadId":"u1","terminalError":null,"fileMetadata":{"fileId":"f1"}}', "f1"),
        (b'{"uploadId":"u1","terminalError":null,"fileMetadata":null}', "u1"),
        (b'{"uploadId":"u1"}', "u1"),
    ],
)
def test_the_file_id(raw: bytes, expected: str) -> None:
    assert parse_upload(raw, "a.png") == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"terminalError":{"reason":"unsupported format"}}', "unsupported format"),
        (b'{"terminalError":{"code":"TOO_BIG"}}', "TOO_BIG"),
        (b'{"terminalError":"virus found"}', "virus found"),
        (b"<html>oops</html>", "not the expected JSON"),
        (b'{"terminalError":null,"fileMetadata":{}}', "names no file"),
    ],
)
def test_unusable_answers(raw: bytes, message: str) -> None:
    with pytest.raises(UpstreamError, match=message) as info:
        parse_upload(raw, "a.png")
    rejected = info.value.code == "upload_rejected"
    assert rejected == (b'terminalError":n' not in raw and b"terminalError" in raw)
    assert info.value.retryable is not rejected


def test_upload_headers_drop_statsig_and_request_id() -> None:
    form = "multipart/form-data; boundary=x"
    headers = upload_headers(cookie="sso=a; sso-rw=a", fingerprint=FINGERPRINT, content_type=form)
    assert not set(headers) & {"x-statsig-id", "x-xai-request-id", "baggage"}
    assert headers["cookie"] == "sso=a; sso-rw=a" and headers["user-agent"] == UA
    assert headers["origin"] == "https://grok.com" and "sec-ch-ua" in headers
    assert headers["content-type"] == form


def test_multipart_is_a_chrome_form() -> None:
    body, content_type = multipart(
        {"file_source": "X"}, Attachment('a"b.png', "image/png", b"\x89P")
    )
    boundary = content_type.split("boundary=", 1)[1]
    assert boundary.startswith("----WebKitFormBoundary") and len(boundary) == 38
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'name="file_source"\r\n\r\nX\r\n' in body
    assert b'name="file"; filename="a%22b.png"\r\nContent-Type: image/png\r\n\r\n\x89P' in body
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
