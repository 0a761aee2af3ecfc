"""Faults of the xAI fake (per key, consumed one per request) and its control endpoints."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from grokgate.simulator.xai_state import XaiState, mask_key
from tests.simulator.xai_support import KEY, OTHER_KEY, XaiFake, chat_body, sse_events


def _chat(xai: XaiFake, key: str = KEY, **extra: Any) -> Any:
    messages: Any = [{"role": "user", "content": "hi"}]
    return xai.openai(key).chat.completions.create(model="grok-4", messages=messages, **extra)


@pytest.mark.parametrize(
    ("kind", "status", "code", "error"),
    [
        ("429", 429, "rate_limit_exceeded", openai.RateLimitError),
        ("498", 498, "capacity_exceeded", openai.APIStatusError),
        ("500", 500, "internal_error", openai.InternalServerError),
        ("502", 502, "upstream_error", openai.InternalServerError),
        ("503", 503, "service_unavailable", openai.InternalServerError),
    ],
)
def test_http_faults_are_consumed_once(
    xai: XaiFake, kind: str, status: int, code: str, error: type[openai.APIStatusError]
) -> None:
    xai.state.inject(KEY, kind)
    with pytest.raises(error) as info:
        _chat(xai)
    assert info.value.status_code == status
    body: Any = info.value.body
    assert body["code"] == code and body["message"]
    assert "retry-after" not in info.value.response.headers
    assert _chat(xai).choices[0].message.content == "Echo: hi"  # consumed
    assert [r.status for r in xai.state.requests] == [status, 200]


def test_429_with_retry_after_and_times(xai: XaiFake) -> None:
    xai.state.inject(KEY, "429", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as info:
            _chat(xai)
        assert info.value.response.headers["retry-after"] == "7"
    assert _chat(xai).choices
    assert xai.state.faults_queued(KEY) == 0


def test_faults_are_per_key_and_sticky_until_cleared(xai: XaiFake) -> None:
    xai.state.inject(KEY, "503", times=-1)
    assert _chat(xai, OTHER_KEY).choices  # another key is not affected
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            _chat(xai)
    xai.state.clear_faults(KEY)
    assert _chat(xai).choices


def test_faults_hit_every_v1_endpoint_with_its_envelope(xai: XaiFake) -> None:
    xai.state.inject(KEY, "500")
    with pytest.raises(openai.InternalServerError):
        xai.openai().models.list()
    xai.state.inject(KEY, "429", retry_after=3)
    with pytest.raises(anthropic.RateLimitError) as info:
        xai.anthropic().messages.create(
            model="grok-4", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": info.value.body["error"]["message"]},  # type: ignore[index]
    }
    assert info.value.response.headers["retry-after"] == "3"
    xai.state.inject(KEY, "498")
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        xai.anthropic().messages.create(
            model="grok-4", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert overloaded.value.status_code == 498
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_invalid_requests_do_not_consume_faults(xai: XaiFake) -> None:
    xai.state.inject(KEY, "500")
    assert xai.post("/v1/chat/completions", {"model": "grok-4", "messages": []}).status_code == 400
    assert xai.post("/v1/chat/completions", chat_body(model="nope")).status_code == 404
    assert xai.post("/v1/chat/completions", chat_body(), key="xai-bad-key-12345").status_code == 401
    assert xai.post("/v1/chat/completions", chat_body()).status_code == 500


def test_cut_drops_a_stream_after_n_events(xai: XaiFake) -> None:
    xai.state.inject(KEY, "cut", after=2)
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        xai.http.stream(
            "POST",
            "/v1/chat/completions",
            json=chat_body("a b c", stream=True),
            headers={"authorization": f"Bearer {KEY}"},
        ) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                received.append(line)
    assert len(received) == 2  # role chunk + first content chunk, then the cut
    assert len(xai.state.last().chunk_times) == 2
    assert xai.post("/v1/chat/completions", chat_body(stream=True)).text.endswith("[DONE]\n\n")


def test_cut_surfaces_in_the_sdks(xai: XaiFake) -> None:
    xai.state.inject(KEY, "cut", after=3)
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in _chat(xai, stream=True):
            seen.append(chunk)
    assert len(seen) == 3  # role + 2 content chunks
    xai.state.inject(KEY, "cut")
    with pytest.raises(openai.APIConnectionError):
        _chat(xai)  # non-stream: half a JSON body, then the cut
    xai.state.inject(KEY, "cut", after=4)
    texts: list[str] = []
    with (
        pytest.raises(anthropic.APIConnectionError),  # a cut stream is a connection error
        xai.anthropic().messages.stream(
            model="grok-4", max_tokens=9, messages=[{"role": "user", "content": "a b c"}]
        ) as stream,
    ):
        texts.extend(stream.text_stream)
    assert texts == ["Echo:"]  # message_start, ping, block start, one delta, then the cut


def test_cut_non_stream_sends_half_a_body(xai: XaiFake) -> None:
    xai.state.inject(KEY, "cut")
    with pytest.raises(httpx.RemoteProtocolError):
        xai.post("/v1/chat/completions", chat_body())


def test_slow_delays_then_answers(xai: XaiFake) -> None:
    xai.state.inject(KEY, "slow", delay=0.3)
    started = time.monotonic()
    assert _chat(xai).choices[0].message.content == "Echo: hi"
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    _chat(xai)
    assert time.monotonic() - started < 0.3


# control endpoints ---------------------------------------------------------------------------
def test_fault_endpoint(xai: XaiFake) -> None:
    body = {"key": KEY, "kind": "429", "retry_after": 2, "times": 1, "after": 0}
    assert xai.http.post("/__xai/faults", json=body).status_code == 204
    response = xai.post("/v1/chat/completions", chat_body())
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    bad_kind = xai.http.post("/__xai/faults", json={"key": KEY, "kind": "418"})
    assert bad_kind.status_code == 400 and "unknown fault" in bad_kind.json()["error"]["message"]
    unknown = xai.http.post("/__xai/faults", json={"key": "xai-nobody-0123456789", "kind": "500"})
    assert unknown.status_code == 404 and "xai-nobody-0123456789" not in unknown.text
    assert xai.http.post("/__xai/faults", content=b"[").status_code == 400


def test_cut_via_fault_endpoint(xai: XaiFake) -> None:
    body = {"key": KEY, "kind": "cut", "after": 1}
    assert xai.http.post("/__xai/faults", json=body).status_code == 204
    with pytest.raises(httpx.RemoteProtocolError):
        xai.post("/v1/chat/completions", chat_body(stream=True))


def test_reset_requests_and_keys_endpoints(xai: XaiFake) -> None:
    xai.post("/v1/chat/completions", chat_body(stream=True))
    listing = xai.http.get("/__xai/requests").json()["requests"]
    assert len(listing) == 1
    record = listing[0]
    assert record["path"] == "/v1/chat/completions" and record["method"] == "POST"
    assert record["key"] == KEY and record["status"] == 200 and record["http_version"] == "1.1"
    assert record["body"]["stream"] is True and len(record["chunk_times"]) == 6
    xai.state.inject(KEY, "500")
    assert xai.http.post("/__xai/reset").status_code == 204
    assert xai.state.requests == [] and xai.state.faults_queued(KEY) == 0
    assert xai.state.knows(KEY)  # keys are kept
    assert xai.http.post("/__xai/keys", json={"key": "xai-new-key-0000"}).status_code == 204
    assert xai.post("/v1/chat/completions", chat_body(), key="xai-new-key-0000").status_code == 200
    assert xai.http.post("/__xai/keys", json={}).status_code == 400


# state unit ----------------------------------------------------------------------------------
def test_state_inject_validation_and_masking() -> None:
    state = XaiState(["xai-abcdefghijklmnop"])
    with pytest.raises(ValueError):
        state.inject("xai-abcdefghijklmnop", "404")
    with pytest.raises(ValueError):
        state.inject("xai-abcdefghijklmnop", "500", times=0)
    with pytest.raises(KeyError):
        state.inject("xai-unknown", "500")
    state.inject("xai-abcdefghijklmnop", "cut", after=-3)
    fault = state.take_fault("xai-abcdefghijklmnop")
    assert fault is not None and fault.after == 0 and state.take_fault("x") is None
    assert mask_key("xai-abcdefghijklmnop") == "xai-ab…mnop" and mask_key("short") == "sh…"
    with pytest.raises(LookupError):
        state.last()
    assert sse_events("data: [DONE]\n\n") == [(None, "[DONE]")]
