"""GrokWebClient.chat against an httpx.MockTransport upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from grokgate.errors import (
    TransportError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    Verdict,
)
from grokgate.events import Finish, ReasoningDelta, Served, TextDelta
from grokgate.stores.records import Account
from grokgate.upstream.grokweb.client import GrokWebClient
from grokgate.upstream.grokweb.request import CHAT_PATH
from tests.upstream.browser_support import UA, web_over

BASE = "https://grok.test"
ACCOUNT = Account(id="acct_x", token=SecretStr("tok"))
ANTI_BOT = '{"error":{"message":"Request rejected by anti-bot rules.","code":7,"details":[]}}'


class FakeSigner:
    kind = "fake"

    def __init__(self) -> None:
        self.signed: list[tuple[str, str]] = []
        self.invalidated = 0
        self.rejections = 0

    async def sign(self, method: str, path: str) -> str:
        self.signed.append((method, path))
        return f"SIG{len(self.signed)}"

    def invalidate(self) -> None:
        self.invalidated += 1

    async def refresh(self) -> bool:
        return False  # nothing newer to sign with

    def rejected(self) -> None:
        self.rejections += 1


def resp(**fields: Any) -> dict[str, Any]:
    return {"result": {"response": fields}}


def ndjson(*frames: dict[str, Any]) -> bytes:
    return "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in frames).encode()


GOOD = ndjson(
    {"result": {"conversation": {"conversationId": "conv_1"}}},
    resp(userResponse={"responseId": "up_1"}),
    resp(token="thinking ", isThinking=True, messageTag="header"),
    resp(token="Hello", isThinking=False, messageTag="final", llmInfo={"modelHash": "h1"}),
    resp(token=", world", isThinking=False, messageTag="final"),
    resp(isSoftStop=True),
    resp(finalMetadata={}),
)


class Chunks(httpx.AsyncByteStream):
    """A response body that yields chunks, then optionally raises."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


class Upstream:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def _client(upstream: Upstream, signer: FakeSigner | None = None, **kw: Any) -> GrokWebClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    return GrokWebClient(web_over(http, BASE + "/", **kw), signer=signer or FakeSigner())


def _ok(body: bytes | list[bytes], error: Exception | None = None) -> Upstream:
    chunks = body if isinstance(body, list) else [body]
    return Upstream(
        lambda _: httpx.Response(
            200, headers={"content-type": "application/x-ndjson"}, stream=Chunks(chunks, error)
        )
    )


async def _collect(client: GrokWebClient, **kw: Any) -> list[Any]:
    return [e async for e in client.chat(ACCOUNT, "[user]: hi", "auto", **kw)]


async def _collect_until_error(client: GrokWebClient) -> tuple[list[Any], BaseException]:
    events: list[Any] = []
    with pytest.raises(UpstreamError) as info:
        async for event in client.chat(ACCOUNT, "[user]: hi", "auto"):
            events.append(event)
    return events, info.value


async def test_served_first_then_the_deltas() -> None:
    events = await _collect(_client(_ok(GOOD)))
    assert events[0] == Served(account="acct_x", transport="rest")
    assert events[1:] == [
        ReasoningDelta("thinking "),
        TextDelta("Hello"),
        TextDelta(", world"),
        Finish(reason="stop", fingerprint="h1"),
    ]


async def test_byte_by_byte_stream_gives_the_same_events() -> None:
    chunks = [GOOD[i : i + 1] for i in range(len(GOOD))]
    whole = await _collect(_client(_ok(GOOD)))
    assert await _collect(_client(_ok(chunks))) == whole


async def test_show_reasoning_false_is_passed_on() -> None:
    events = await _collect(_client(_ok(GOOD)), show_reasoning=False)
    assert not [e for e in events if isinstance(e, ReasoningDelta)]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", ", world"]


async def test_request_shape() -> None:
    upstream = _ok(GOOD)
    signer = FakeSigner()
    await _collect(_client(upstream, signer, cf_cookies="cf_clearance=cf1"))
    (request,) = upstream.requests
    assert request.method == "POST"
    assert str(request.url) == BASE + CHAT_PATH
    assert request.headers["cookie"] == "sso=tok; sso-rw=tok; cf_clearance=cf1"
    assert signer.signed == [("POST", CHAT_PATH)]
    assert request.headers["x-statsig-id"] == "SIG1"
    assert request.headers["user-agent"] == UA
    assert request.headers["origin"] == "https://grok.com"
    body = json.loads(request.content)
    assert body["message"] == "[user]: hi"
    assert body["modeId"] == "auto"


async def test_stream_without_an_end_frame_is_a_stream_error() -> None:
    body = ndjson(
        resp(token="Hello", isThinking=False, messageTag="final"),
        resp(token=" there", isThinking=False, messageTag="final"),
    )
    events, err = await _collect_until_error(_client(_ok(body)))
    assert isinstance(err, UpstreamStreamError)
    assert events[0] == Served(account="acct_x", transport="rest")
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " there"]
    assert not [e for e in events if isinstance(e, Finish)]


async def test_finish_without_any_answer_text_is_a_stream_error() -> None:
    body = ndjson(
        resp(token="thinking only", isThinking=True, messageTag="header"),
        resp(isSoftStop=True),
    )
    _, err = await _collect_until_error(_client(_ok(body)))
    assert isinstance(err, UpstreamStreamError)


async def test_model_response_message_counts_as_answer_text() -> None:
    body = ndjson(resp(modelResponse={"message": "Summary answer"}), resp(finalMetadata={}))
    events = await _collect(_client(_ok(body)))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Summary answer"]


async def test_frames_after_the_end_are_not_read() -> None:
    body = GOOD + ndjson(resp(token="extra", isThinking=False, messageTag="final"))
    events = await _collect(_client(_ok(body)))
    assert "extra" not in [e.text for e in events if isinstance(e, TextDelta)]


async def test_in_band_error_is_raised_after_served() -> None:
    body = ndjson(resp(token="Hi", isThinking=False, messageTag="final")) + ndjson(
        {"error": {"code": 8, "message": "rate limited"}}
    )
    events, err = await _collect_until_error(_client(_ok(body)))
    assert isinstance(events[0], Served)
    assert err.verdict is Verdict.RATE_LIMITED


async def test_http_429_is_rate_limited_before_served() -> None:
    upstream = Upstream(
        lambda _: httpx.Response(
            429, headers={"Retry-After": "17"}, json={"error": {"code": 8, "message": "slow"}}
        )
    )
    events, err = await _collect_until_error(_client(upstream))
    assert events == []
    assert err.verdict is Verdict.RATE_LIMITED
    assert err.upstream_status == 429
    assert err.retry_after == 17.0


async def test_http_401_is_expired_before_served() -> None:
    upstream = Upstream(lambda _: httpx.Response(401, text="unauthorized"))
    signer = FakeSigner()
    events, err = await _collect_until_error(_client(upstream, signer))
    assert events == []
    assert err.verdict is Verdict.EXPIRED
    assert signer.invalidated == 0


async def test_anti_bot_403_invalidates_the_signer() -> None:
    upstream = Upstream(lambda _: httpx.Response(403, text=ANTI_BOT))
    signer = FakeSigner()
    events, err = await _collect_until_error(_client(upstream, signer))
    assert events == []
    assert err.verdict is Verdict.CHALLENGED
    assert err.code == "upstream_anti_bot"
    assert signer.invalidated == 1


async def test_cloudflare_403_is_challenged_without_html_in_the_message() -> None:
    page = "<html><head><title>Just a moment...</title></head></html>"
    upstream = Upstream(
        lambda _: httpx.Response(403, headers={"cf-mitigated": "challenge"}, text=page)
    )
    _, err = await _collect_until_error(_client(upstream))
    assert err.verdict is Verdict.CHALLENGED
    assert "<" not in err.message


async def test_5xx_is_unavailable() -> None:
    upstream = Upstream(lambda _: httpx.Response(503, text="Service Unavailable"))
    _, err = await _collect_until_error(_client(upstream))
    assert err.verdict is Verdict.UNAVAILABLE
    assert err.retryable


async def test_connect_error_is_an_upstream_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    events, err = await _collect_until_error(_client(Upstream(refuse)))
    assert events == []
    assert type(err) is TransportError  # an UpstreamError: another account may be tried
    assert err.verdict is Verdict.UNAVAILABLE and err.retryable
    assert "tok" not in err.message


async def test_connect_timeout_is_an_upstream_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    _, err = await _collect_until_error(_client(Upstream(slow)))
    assert isinstance(err, UpstreamTimeoutError)


async def test_read_timeout_mid_stream_is_an_upstream_timeout() -> None:
    first = ndjson(resp(token="Hel", isThinking=False, messageTag="final"))
    events, err = await _collect_until_error(_client(_ok([first], httpx.ReadTimeout("idle"))))
    assert isinstance(err, UpstreamTimeoutError)
    assert events[0] == Served(account="acct_x", transport="rest")
    assert TextDelta("Hel") in events


async def test_broken_stream_is_a_stream_error() -> None:
    first = ndjson(resp(token="Hel", isThinking=False, messageTag="final"))
    _, err = await _collect_until_error(_client(_ok([first], httpx.RemoteProtocolError("eof"))))
    assert isinstance(err, UpstreamStreamError)


async def test_response_is_closed_when_the_consumer_stops_early() -> None:
    stream = Chunks([GOOD])
    upstream = Upstream(lambda _: httpx.Response(200, stream=stream))
    gen = _client(upstream).chat(ACCOUNT, "hi", "auto")
    first = await gen.__anext__()
    assert isinstance(first, Served)
    await gen.aclose()
    assert stream.closed


async def test_response_is_closed_after_an_http_error() -> None:
    stream = Chunks([ANTI_BOT.encode()])
    upstream = Upstream(lambda _: httpx.Response(403, stream=stream))
    await _collect_until_error(_client(upstream))
    assert stream.closed
