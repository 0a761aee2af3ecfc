"""Every error of the Messages surface, as the anthropic SDK sees it (status, class, body)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.sdk import anthropic_client as client
from tests.support import ALL_TOKENS, API_KEY, GatewayFactory, Sim

FAST = "grok-4.20-fast"
MSG: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
SUPER = [t for t in ALL_TOKENS if "super" in t]


def assert_anthropic_error(body: object, type_: str) -> str:
    assert isinstance(body, dict)
    assert body["type"] == "error"
    error = body["error"]
    assert set(error) == {"type", "message"}, error
    assert error["type"] == type_
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def post(base: str, body: Any, path: str = "/v1/messages") -> httpx.Response:
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    return httpx.post(f"{base}{path}", json=body, headers=headers, timeout=20)


@pytest.mark.parametrize("key", ["sk-wrong-key", None])
def test_bad_or_missing_key_is_authentication_error(gateway: str, key: str | None) -> None:
    if key is None:
        resp = httpx.post(f"{gateway}/v1/messages", json={})
        assert resp.status_code == 401
        assert_anthropic_error(resp.json(), "authentication_error")
        return
    with pytest.raises(anthropic.AuthenticationError) as info:
        client(gateway, key).messages.create(model=FAST, max_tokens=16, messages=MSG)
    assert info.value.status_code == 401
    message = assert_anthropic_error(info.value.body, "authentication_error")
    assert "sk-wrong" not in message and API_KEY not in message
    with pytest.raises(anthropic.AuthenticationError):
        client(gateway, key).messages.count_tokens(model=FAST, messages=MSG)


def test_bearer_auth_token_is_accepted(gateway: str) -> None:
    c = anthropic.Anthropic(base_url=gateway, auth_token=API_KEY, max_retries=0, timeout=20)
    out = c.messages.create(model=FAST, max_tokens=16, messages=MSG)
    assert out.stop_reason in ("end_turn", "max_tokens")


def test_missing_max_tokens_is_400(gateway: str) -> None:
    resp = post(gateway, {"model": FAST, "messages": MSG})
    assert resp.status_code == 400
    assert "max_tokens" in assert_anthropic_error(resp.json(), "invalid_request_error")
    resp = post(gateway, {"model": FAST, "max_tokens": 0, "messages": MSG})
    assert resp.status_code == 400
    assert "max_tokens" in assert_anthropic_error(resp.json(), "invalid_request_error")


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ([{"type": "video", "url": "x"}], "messages[0].content[0]"),
        ([{"type": "image", "source": {"type": "base64", "data": "AA"}}], "media_type"),
        ([{"type": "tool_use", "id": "t", "name": "n", "input": {}}], "content[0].type"),
        ([{"type": "image", "source": {"type": "file", "file_id": "f"}}], "content[0].source"),
    ],
)
def test_invalid_content_is_400_naming_the_block(gateway: str, content: Any, where: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client(gateway).messages.create(
            model=FAST, max_tokens=16, messages=[{"role": "user", "content": content}]
        )
    assert info.value.status_code == 400
    assert where in assert_anthropic_error(info.value.body, "invalid_request_error")


def test_invalid_bodies_are_400_in_anthropic_format(gateway: str) -> None:
    resp = httpx.post(
        f"{gateway}/v1/messages",
        content=b'{"model": "grok-4.20-fast", "messages": [',
        headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert_anthropic_error(resp.json(), "invalid_request_error")
    for body in (["not", "an", "object"], {"model": FAST, "max_tokens": 5, "messages": []}):
        resp = post(gateway, body)
        assert resp.status_code == 400
        assert_anthropic_error(resp.json(), "invalid_request_error")
    bad_role = {"model": FAST, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}
    resp = post(gateway, bad_role)
    assert "messages[0].role" in assert_anthropic_error(resp.json(), "invalid_request_error")


def test_unsupported_tool_type_is_400(gateway: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client(gateway).messages.create(
            model=FAST,
            max_tokens=16,
            messages=MSG,
            tools=[{"type": "bash_20250124", "name": "bash"}],
        )
    assert "tools[0].type" in assert_anthropic_error(info.value.body, "invalid_request_error")


def test_unknown_model_is_not_found(gateway: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client(gateway).messages.create(model="claude-imaginary", max_tokens=16, messages=MSG)
    assert info.value.status_code == 404
    assert "claude-imaginary" in assert_anthropic_error(info.value.body, "not_found_error")
    with pytest.raises(anthropic.NotFoundError):
        client(gateway).messages.count_tokens(model="claude-imaginary", messages=MSG)


def test_pool_rate_limited_is_rate_limit_error(make_gateway: GatewayFactory, sim: Sim) -> None:
    gw = make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))
    for token in SUPER:
        sim.state.inject(token, "429", times=-1, retry_after=90)
    expert = "grok-4.20-0309-reasoning"  # one quota window (auto would fall back to fast)
    for stream in (False, True):
        with pytest.raises(anthropic.RateLimitError) as info:
            client(gw.url).messages.create(model=expert, max_tokens=16, messages=MSG, stream=stream)
        assert info.value.status_code == 429
        assert 1 <= int(info.value.response.headers["retry-after"]) <= 90
        assert_anthropic_error(info.value.body, "rate_limit_error")


def test_no_account_for_the_model_is_overloaded(make_gateway: GatewayFactory, sim: Sim) -> None:
    basic = next(t for t in ALL_TOKENS if "basic" in t)
    gw = make_gateway(sso_tokens=f"basic:{basic}")
    for stream in (False, True):
        with pytest.raises(anthropic.OverloadedError) as info:
            client(gw.url).messages.create(
                model="grok-4.20-0309-reasoning", max_tokens=16, messages=MSG, stream=stream
            )
        assert info.value.status_code == 529
        assert int(info.value.response.headers["retry-after"]) >= 1
        assert "super" in assert_anthropic_error(info.value.body, "overloaded_error")
    assert sim.state.chat_requests() == []


def test_empty_pool_is_overloaded(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(sso_tokens="")
    with pytest.raises(anthropic.OverloadedError):
        client(gw.url).messages.create(model=FAST, max_tokens=16, messages=MSG)


def test_upstream_failure_is_api_error_never_an_empty_200(gateway: str, sim: Sim) -> None:
    for token in ALL_TOKENS:
        sim.state.inject(token, "500", times=-1)
    for stream in (False, True):
        with pytest.raises(anthropic.InternalServerError) as info:
            client(gateway).messages.create(model=FAST, max_tokens=16, messages=MSG, stream=stream)
        assert info.value.status_code == 502
        assert_anthropic_error(info.value.body, "api_error")


def test_error_after_stream_began_is_an_error_event(gateway: str, sim: Sim) -> None:
    for token in ALL_TOKENS:
        sim.state.inject(token, "cut", times=-1, after=5)
    received: list[str] = []
    stream = client(gateway).messages.stream(
        model=FAST, max_tokens=256, messages=[{"role": "user", "content": "a b c d e f g"}]
    )
    with pytest.raises(anthropic.APIStatusError) as info, stream as events:
        for text in events.text_stream:
            received.append(text)
    assert "".join(received).startswith("Echo:")
    assert_anthropic_error(info.value.body, "api_error")
