"""The anthropic SDK's tool-use loop and image blocks, end to end.

These need work integrated in parallel with the Messages surface: the tool sieve (tool-call XML
→ ToolCall events), the simulator answering ``call <tool> {json}`` with tool-call XML, and the
upload of images to grok.com (the chat service's file resolver).
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import anthropic

from grokgate.simulator.answers import final_text
from tests.sdk import anthropic_client as client
from tests.support import Sim

FAST = "grok-4.20-fast"
WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "The current weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
ASK = 'call get_weather {"city": "Paris"}'


def png_1x1() -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


def test_tool_use_then_tool_result(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    history: list[anthropic.types.MessageParam] = [{"role": "user", "content": ASK}]
    out = c.messages.create(model=FAST, max_tokens=256, messages=history, tools=[WEATHER])
    assert out.stop_reason == "tool_use"
    call = next(b for b in out.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    assert call.id.startswith("toolu_")
    history += [
        {"role": "assistant", "content": out.content},  # type: ignore[typeddict-item]
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C, sunny"}],
        },
    ]
    second = c.messages.create(model=FAST, max_tokens=256, messages=history, tools=[WEATHER])
    assert second.stop_reason == "end_turn"
    text = "".join(b.text for b in second.content if b.type == "text")
    assert "Tool result received: 18C, sunny" in text
    sent = sim.state.chat_requests()[-1].body["message"]
    assert f"[tool result for {call.id}]:\n18C, sunny" in sent
    assert "<tool_name>get_weather</tool_name>" in sent


def test_tool_use_streamed(gateway: str) -> None:
    with client(gateway).messages.stream(
        model=FAST,
        max_tokens=256,
        messages=[{"role": "user", "content": ASK}],
        tools=[WEATHER],
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    call = next(b for b in final.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    kinds = [e.type for e in events]
    assert "input_json" in kinds  # the SDK's per-delta event for tool input


def test_tool_choice_any_and_named(gateway: str) -> None:
    c = client(gateway)
    for choice in ({"type": "any"}, {"type": "tool", "name": "get_weather"}):
        out = c.messages.create(
            model=FAST,
            max_tokens=256,
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[WEATHER],
            tool_choice=choice,  # type: ignore[arg-type]
        )
        assert out.stop_reason == "tool_use"
        assert [b.name for b in out.content if b.type == "tool_use"] == ["get_weather"]


def test_tool_choice_none_answers_in_text(gateway: str) -> None:
    out = client(gateway).messages.create(
        model=FAST,
        max_tokens=256,
        messages=[{"role": "user", "content": "just talk"}],
        tools=[WEATHER],
        tool_choice={"type": "none"},
    )
    assert out.stop_reason == "end_turn"
    assert [b.type for b in out.content] == ["text"]


def test_base64_image_block_is_uploaded(gateway: str, sim: Sim) -> None:
    out = client(gateway).messages.create(
        model=FAST,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": png_1x1()},
                    },
                    {"type": "text", "text": "What is in this image?"},
                ],
            }
        ],
    )
    assert out.content[0].type == "text"
    text = out.content[0].text
    assert text.startswith(final_text("[user]: What is in this image?"))
    assert text.endswith("(image/png, 69 bytes)]")  # the simulator lists what it received
    body = sim.state.chat_requests()[-1].body
    assert body["message"] == "[user]: What is in this image?"
    assert len(body["fileAttachments"]) == 1


def test_tool_loop_streamed_both_turns(gateway: str) -> None:
    c = client(gateway)
    history: list[anthropic.types.MessageParam] = [{"role": "user", "content": ASK}]
    with c.messages.stream(model=FAST, max_tokens=256, messages=history, tools=[WEATHER]) as s:
        first = s.get_final_message()
    call = next(b for b in first.content if b.type == "tool_use")
    assert first.stop_reason == "tool_use" and call.input == {"city": "Paris"}
    history += [
        {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "snow"}],
        },
    ]
    with c.messages.stream(model=FAST, max_tokens=256, messages=history, tools=[WEATHER]) as s:
        text = "".join(s.text_stream)
        second = s.get_final_message()
    assert text == "Tool result received: snow" and second.stop_reason == "end_turn"
