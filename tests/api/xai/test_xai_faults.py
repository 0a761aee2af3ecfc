"""The xAI relay's timing and the errors around the fault matrix: no buffering, a client mistake
passed on, no key at all. Each upstream fault (429 rotation, outages, dead keys, broken streams,
the deadline, a client that leaves) is in :mod:`tests.api.xai.test_xai_fault_matrix`."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.api.xai.conftest import Xai
from tests.sdk import openai_client
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


def test_a_client_mistake_keeps_the_upstream_status_and_message(
    xai_gateway: Gateway, xai: Xai
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        openai_client(xai_gateway.url).chat.completions.create(model="grok-4", messages=[])
    error = info.value.response.json()["error"]
    assert error["type"] == "invalid_request_error" and "messages" in error["message"]
    assert len(xai.state.requests_for("/v1/chat/completions")) == 1  # not retried


def test_no_xai_key_in_the_pool_is_a_clear_503(make_gateway: GatewayFactory, xai: Xai) -> None:
    gw = make_gateway(xai_base_url=xai.url, xai_ca_file=xai.ca_file)
    with pytest.raises(openai.APIStatusError) as info:
        openai_client(gw.url).chat.completions.create(model="grok-4", messages=MSG)
    assert info.value.status_code == 503
    assert "xAI API key" in info.value.response.json()["error"]["message"]
