"""Helpers for the Responses renderer tests: scripted events in, checked stream events out."""

from __future__ import annotations

import json
from typing import Any

from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from grokgate.api.openai.responses_render import ResponseBuilder
from grokgate.api.openai.responses_schemas import EchoedRequest
from grokgate.events import Event
from tests.support import scripted

SDK_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
PROMPT = "[user]: hi"


def builder(echo: EchoedRequest | None = None) -> ResponseBuilder:
    return ResponseBuilder(model="grok-4.20-0309", prompt=PROMPT, echo=echo or EchoedRequest())


def run(events: list[Event], echo: EchoedRequest | None = None) -> list[dict[str, Any]]:
    """Every stream event (as JSON objects) for a finished script, each checked by the SDK."""
    b = builder(echo)
    out = b.start()
    for event in events:
        out += b.add(event)
    out += b.end()
    wire = [json.loads(e.model_dump_json()) for e in out]
    for data in wire:
        parsed = SDK_EVENT.validate_python(data)
        assert parsed.type == data["type"]
        assert next(iter(data)) == "type"  # "type" leads every event
    assert [d["sequence_number"] for d in wire] == list(range(len(wire)))
    Response.model_validate(wire[-1]["response"])
    assert wire[-1]["response"] == json.loads(b.response().model_dump_json())
    return wire


def types(wire: list[dict[str, Any]]) -> list[str]:
    return [d["type"].removeprefix("response.") for d in wire]


script = scripted  # events as a stream, then an optional error
