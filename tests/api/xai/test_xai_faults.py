"""The xAI relay under faults and timing: no buffering, 429 rotation across keys, upstream
errors in the client's format, broken streams, and what the pool learns."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from grokgate.stores.records import XAI_MODE, Status
from tests.api.xai.conftest import FIRST, KEYS, SECOND, Xai, key_id
from tests.sdk import anthropic_client, openai_client
from tests.support import API_KEY, Gateway, GatewayFactory

MSG = [{"role": "user", "content": "alpha beta gamma delta epsilon"}]


def test_chunk_k_reaches_the_client_before_the_upstream_sends_k_plus_1(
    xai_gateway: Gateway, xai: Xai
) -> None:
    """The fake holds every content event after the first until the test releases it. When
    the client has read event k, the upstream must have written exactly k events: k+1 waits
    for the release, which comes only after k arrived. A buffering relay would deliver
    nothing until the fake gave up holding (``gate_timeout``) and wrote everything."""
    xai.state.hold_chunks = True
    xai.state.gate_timeout = 5.0
    body = {"model": "grok-4", "messages": MSG, "stream": True}
    received = 0
    content: list[str] = []
    with httpx.stream(
        "POST",
        f"{xai_gateway.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            received += 1
            chunk = json.loads(line[5:])
            delta = chunk["choices"][0]["delta"] if chunk.get("choices") else {}
            if not delta.get("content"):
                continue
            content.append(delta["content"])
            record = xai.state.last("/v1/chat/completions")
            time.sleep(0.02)  # give a buffering or racing upstream the chance to show itself
            if len(content) < 6:  # after the last word nothing is held (finish, usage, DONE)
                assert len(record.chunk_times) == received, "the upstream is ahead"
            xai.state.release_chunk()
    assert "".join(content) == "Echo: alpha beta gamma delta epsilon"
    assert len(content) == 6


def test_a_429_on_one_key_is_served_by_another(xai_gateway: Gateway, xai: Xai) -> None:
    xai.state.inject(FIRST, "429", retry_after=30)
    out = openai_client(xai_gateway.url).chat.completions.create(model="grok-4", messages=MSG)
    assert out.choices[0].message.content == "Echo: alpha beta gamma delta epsilon"
    tried = [(r.key, r.status) for r in xai.state.requests_for("/v1/chat/completions")]
    assert tried == [(FIRST, 429), (SECOND, 200)]


async def test_the_limited_key_rests_until_retry_after(xai_gateway: Gateway, xai: Xai) -> None:
    xai.state.inject(FIRST, "429", retry_after=30)
    client = openai_client(xai_gateway.url)
    client.chat.completions.create(model="grok-4", messages=MSG)
    client.chat.completions.create(model="grok-4", messages=MSG)  # only the other key now
    keys = [r.key for r in xai.state.requests_for("/v1/chat/completions")]
    assert keys == [FIRST, SECOND, SECOND]
    accounts = await xai_gateway.accounts()
    limited = accounts[key_id(FIRST)]
    quota = limited.quotas[XAI_MODE]
    assert quota.remaining == 0 and 25 < quota.reset_at - time.time() <= 31
    assert limited.status is Status.ACTIVE and limited.inflight == 0
    assert accounts[key_id(SECOND)].inflight == 0


@pytest.mark.parametrize("stream", [False, True])
def test_429_on_every_key_is_a_429_with_retry_after(
    xai_gateway: Gateway, xai: Xai, stream: bool
) -> None:
    xai.state.inject(FIRST, "429", retry_after=40)
    xai.state.inject(SECOND, "429", retry_after=20)
    with pytest.raises(openai.RateLimitError) as info:
        openai_client(xai_gateway.url).chat.completions.create(
            model="grok-4", messages=MSG, stream=stream
        )
    assert info.value.response.headers["retry-after"] == "20"
    body = info.value.response.json()["error"]
    assert body["type"] == "rate_limit_error"
    assert not any(key in json.dumps(body) for key in KEYS)


def test_429_on_every_key_in_anthropic_format(xai_gateway: Gateway, xai: Xai) -> None:
    for key in KEYS:
        xai.state.inject(key, "429", retry_after=15)
    with pytest.raises(anthropic.RateLimitError) as info:
        anthropic_client(xai_gateway.url).messages.create(
            model="grok-4", max_tokens=10, messages=MSG
        )
    assert info.value.response.headers["retry-after"] == "15"
    assert info.value.response.json()["type"] == "error"


@pytest.mark.parametrize("fault", ["500", "502", "503", "498"])
def test_an_outage_on_one_key_is_retried_on_the_other(
    xai_gateway: Gateway, xai: Xai, fault: str
) -> None:
    xai.state.inject(FIRST, fault)
    out = openai_client(xai_gateway.url).chat.completions.create(model="grok-4", messages=MSG)
    assert out.choices[0].finish_reason == "stop"
    assert [r.key for r in xai.state.requests_for("/v1/chat/completions")] == [FIRST, SECOND]


def test_an_outage_on_every_key_is_a_502(xai_gateway: Gateway, xai: Xai) -> None:
    for key in KEYS:
        xai.state.inject(key, "503")
    with pytest.raises(openai.APIStatusError) as info:
        openai_client(xai_gateway.url).chat.completions.create(model="grok-4", messages=MSG)
    assert info.value.status_code == 502
    assert "503" in info.value.response.json()["error"]["message"]


def test_a_client_mistake_keeps_the_upstream_status_and_message(
    xai_gateway: Gateway, xai: Xai
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client(xai_gateway.url).chat.completions.create(model="grok-4", messages=[])
    error = info.value.response.json()["error"]
    assert error["type"] == "invalid_request_error" and "messages" in error["message"]
    assert len(xai.state.requests_for("/v1/chat/completions")) == 1  # not retried


async def test_a_dead_key_is_expired_and_its_secret_never_shown(
    xai_gateway: Gateway, xai: Xai
) -> None:
    xai.state.remove_key(FIRST)  # xAI no longer knows it: 401 invalid_api_key
    out = openai_client(xai_gateway.url).chat.completions.create(model="grok-4", messages=MSG)
    assert out.choices[0].message.content
    accounts = await xai_gateway.accounts()
    dead = accounts[key_id(FIRST)]
    assert dead.status is Status.EXPIRED
    assert dead.last_error is not None and FIRST not in dead.last_error


def test_a_stream_cut_after_it_began_ends_with_an_error_event(
    xai_gateway: Gateway, xai: Xai
) -> None:
    xai.state.inject(FIRST, "cut", after=3)
    stream = openai_client(xai_gateway.url).chat.completions.create(
        model="grok-4", messages=MSG, stream=True
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass
    assert len(xai.state.requests_for("/v1/chat/completions")) == 1  # text was shown: no retry


def test_no_xai_key_in_the_pool_is_a_clear_503(make_gateway: GatewayFactory, xai: Xai) -> None:
    gw = make_gateway(xai_base_url=xai.url, xai_ca_file=xai.ca_file)
    with pytest.raises(openai.APIStatusError) as info:
        openai_client(gw.url).chat.completions.create(model="grok-4", messages=MSG)
    assert info.value.status_code == 503
    assert "xAI API key" in info.value.response.json()["error"]["message"]
