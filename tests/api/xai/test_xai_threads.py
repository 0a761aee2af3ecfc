"""An Anthropic ``thread`` with an xAI model: refused as ``thread_unsupported_request`` (the xAI
API keeps no threads and grokgate does not thread relayed answers), never dropped silently; the
SDK's tool runner then sends the whole conversation without a thread."""

from __future__ import annotations

import anthropic
import pytest
from anthropic import beta_tool

from tests.api.xai.conftest import Xai
from tests.sdk import anthropic_client
from tests.support import Gateway


@beta_tool
def get_weather(city: str) -> str:
    """The weather of a city.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


def test_a_thread_with_an_xai_model_is_refused(xai_gateway: Gateway, xai: Xai) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(xai_gateway.url).beta.messages.create(
            model="grok-4",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            thread={"type": "create"},
            betas=["message-threads-2026-08-12"],
        )
    assert caught.value.error_code == "thread_unsupported_request"
    assert xai.state.requests_for("/v1/messages") == []


def test_the_tool_runner_goes_on_without_a_thread(xai_gateway: Gateway, xai: Xai) -> None:
    runner = anthropic_client(xai_gateway.url).beta.messages.tool_runner(
        model="grok-4",
        max_tokens=64,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[get_weather],
    )
    final = runner.until_done()
    assert final.content
    sent = xai.state.last("/v1/messages").body
    assert "thread" not in sent
