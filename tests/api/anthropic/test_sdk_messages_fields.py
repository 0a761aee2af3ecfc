"""Fields grokgate does not implement: a clear 400 when dropping one would change what the model
sees (history, tools, state), a pass when it is harmless (README, "Unknown fields")."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.sdk import anthropic_client as client
from tests.support import Sim

FAST = "grok-4.20-fast"
USER: list[Any] = [{"role": "user", "content": "hi"}]

REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("container", {"container": "container_011"}),
    ("context_management", {"context_management": {"edits": [{"type": "clear_tool_uses"}]}}),
    (
        "mcp_servers",
        {"mcp_servers": [{"type": "url", "url": "https://mcp.example.com", "name": "x"}]},
    ),
    ("compaction", {"compaction": {"type": "auto"}}),
    (
        "output_config.format",
        {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
    ),
]


@pytest.mark.parametrize(("param", "extra"), REFUSED, ids=[r[0] for r in REFUSED])
def test_fields_that_change_what_the_model_sees_are_refused(
    gateway: str, sim: Sim, param: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(gateway).messages.create(model=FAST, max_tokens=64, messages=USER, extra_body=extra)
    body = caught.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(f"{param}:")
    assert sim.state.chat_requests() == []


def test_harmless_fields_pass(gateway: str) -> None:
    out = client(gateway).messages.create(
        model=FAST,
        max_tokens=64,
        messages=USER,
        extra_body={
            "cache_control": {"type": "ephemeral"},
            "speed": "standard",
            "inference_geo": "us",
            "output_config": {"effort": "low"},
            "container": None,
            "mcp_servers": [],
            "user_profile_id": "u1",
        },
    )
    assert out.stop_reason == "end_turn"


def test_count_tokens_refuses_a_thread_and_the_refused_fields(gateway: str) -> None:
    c = client(gateway)
    for extra in ({"thread": {"type": "create"}}, {"container": "container_011"}):
        with pytest.raises(anthropic.BadRequestError):
            c.messages.count_tokens(model=FAST, messages=USER, extra_body=extra)
