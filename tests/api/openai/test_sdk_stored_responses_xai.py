"""Stored Responses with an xAI API model: grokgate resolves ``previous_response_id`` itself and
sends the xAI API the whole history with ``store: false`` (README, "Stored responses")."""

from __future__ import annotations

import pytest

from tests.api.xai import conftest as xai_fixtures
from tests.api.xai.conftest import Xai
from tests.sdk import openai_client as client
from tests.support import Gateway

MODEL = "grok-4"
# The xAI fake and its gateway, shared with tests/api/xai.
xai_server, xai, xai_gateway = xai_fixtures.xai_server, xai_fixtures.xai, xai_fixtures.xai_gateway


@pytest.mark.parametrize("stream", [False, True])
def test_previous_response_id_is_resolved_by_grokgate(
    xai_gateway: Gateway, xai: Xai, stream: bool
) -> None:
    c = client(xai_gateway.url)
    if stream:
        events = list(c.responses.create(model=MODEL, input="Hi there", stream=True))
        first = events[-1].response  # type: ignore[union-attr]
        assert len({e.item_id for e in events if hasattr(e, "item_id")}) >= 1
        assert all(
            e.item_id.startswith(("msg_", "rs_", "fc_")) and first.id[5:] in e.item_id
            for e in events
            if hasattr(e, "item_id")
        )
    else:
        first = c.responses.create(model=MODEL, input="Hi there")
    hex_ = first.id.removeprefix("resp_")
    assert first.output[-1].id == f"msg_{hex_}_{len(first.output)}"
    assert first.model_extra is not None and first.model_extra["store"] is True
    assert xai.state.last("/v1/responses").body["store"] is False
    assert c.responses.retrieve(first.id).output_text == first.output_text

    second = c.responses.create(model=MODEL, input="And again", previous_response_id=first.id)
    sent = xai.state.last("/v1/responses").body
    assert "previous_response_id" not in sent and sent["store"] is False
    texts = [
        (i["role"], i["content"][0]["text"]) for i in sent["input"] if i.get("type") == "message"
    ]
    assert texts == [
        ("user", "Hi there"),
        ("assistant", first.output_text),
        ("user", "And again"),
    ]
    assert second.previous_response_id == first.id
    assert c.responses.retrieve(second.id).id == second.id


def test_store_false_without_state_is_relayed_unchanged(xai_gateway: Gateway, xai: Xai) -> None:
    c = client(xai_gateway.url)
    c.responses.create(model=MODEL, input="Hi there", store=False, max_output_tokens=40)
    assert xai.state.last("/v1/responses").body == {
        "model": MODEL,
        "input": "Hi there",
        "store": False,
        "max_output_tokens": 40,
    }
