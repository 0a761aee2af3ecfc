"""``POST /v1/messages`` of the xAI fake (Anthropic Messages API shape; answer rule:
:mod:`.xai_answers`).

Input: ``system`` (string or text blocks) is a system turn; a user message holding
``tool_result`` blocks is a tool turn (the results' text), other messages are their text blocks.
``max_tokens`` is required; ``stop_sequences`` cut the text (``stop_reason`` ``stop_sequence``
and ``stop_sequence`` set). Tools: the first tool, or ``tool_choice`` ``{"type": "tool",
"name": …}``; ``{"type": "none"}`` disables them; a call is one ``tool_use`` block
(``stop_reason`` ``tool_use``).

Content: a ``thinking`` block (``*reasoning*`` models, signature ``"xai-fake-signature"``), then
one ``text`` block or one ``tool_use`` block. Stream (named SSE events): ``message_start``
(empty content, ``usage.input_tokens``), ``ping``, per block ``content_block_start`` …
``content_block_delta`` (``thinking_delta`` + ``signature_delta`` / ``text_delta`` /
``input_json_delta``) … ``content_block_stop``, then ``message_delta`` (``stop_reason``,
``stop_sequence``, ``usage.output_tokens``) and ``message_stop``.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .xai_answers import Answer, ToolSpec, Turn, text_of
from .xai_wire import SseEvent, TextRequest

__all__ = [
    "SIGNATURE",
    "MessagesRequest",
    "messages_events",
    "messages_json",
    "messages_tool",
    "messages_turns",
    "stop_reason",
]

SIGNATURE = "xai-fake-signature"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class AnthropicMessage(_Open):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class AnthropicTool(_Open):
    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any] | None = None


class MessagesRequest(TextRequest):
    max_tokens: int = Field(ge=1)
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    tools: list[AnthropicTool] | None = None
    tool_choice: dict[str, Any] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)


def messages_turns(req: MessagesRequest) -> list[Turn]:
    turns = [Turn("system", text_of(req.system))] if req.system else []
    for message in req.messages:
        content = message.content
        if isinstance(content, list):
            results = [b for b in content if b.get("type") == "tool_result"]
            if results and message.role == "user":
                turns.append(Turn("tool", " ".join(text_of(b.get("content")) for b in results)))
                continue
        turns.append(Turn(message.role, text_of(content)))
    return turns


def messages_tool(req: MessagesRequest) -> ToolSpec | None:
    choice = req.tool_choice or {}
    if not req.tools or choice.get("type") == "none":
        return None
    chosen = req.tools[0]
    if choice.get("type") == "tool":
        chosen = next((t for t in req.tools if t.name == choice.get("name")), chosen)
    return ToolSpec(chosen.name, chosen.input_schema or {})


def stop_reason(answer: Answer) -> str:
    if answer.tool is not None:
        return "tool_use"
    if answer.finish == "length":
        return "max_tokens"
    return "stop_sequence" if answer.stop_sequence is not None else "end_turn"


def _usage(answer: Answer) -> dict[str, Any]:
    return {
        "input_tokens": answer.prompt_tokens,
        "output_tokens": answer.completion_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _tool_block(answer: Answer, done: bool) -> dict[str, Any]:
    assert answer.tool is not None
    tool_input = answer.tool.input if done else {}
    return {
        "type": "tool_use",
        "id": answer.tool.call_id,
        "name": answer.tool.name,
        "input": tool_input,
    }


def _blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.reasoning:
        thinking = answer.reasoning_text
        blocks.append({"type": "thinking", "thinking": thinking, "signature": SIGNATURE})
    if answer.tool is not None:
        blocks.append(_tool_block(answer, True))
    else:
        blocks.append({"type": "text", "text": answer.text})
    return blocks


def _message(req: MessagesRequest, message_id: str, answer: Answer, final: bool) -> dict[str, Any]:
    usage = _usage(answer) if final else {**_usage(answer), "output_tokens": 0}
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": _blocks(answer) if final else [],
        "stop_reason": stop_reason(answer) if final else None,
        "stop_sequence": answer.stop_sequence if final else None,
        "usage": usage,
    }


def messages_json(req: MessagesRequest, answer: Answer) -> dict[str, Any]:
    return _message(req, f"msg_{uuid.uuid4().hex[:24]}", answer, True)


def messages_events(req: MessagesRequest, answer: Answer) -> list[SseEvent]:
    events: list[SseEvent] = []

    def emit(kind: str, content: bool = False, **fields: Any) -> None:
        events.append(SseEvent({"type": kind, **fields}, event=kind, content=content))

    def delta(index: int, **fields: Any) -> None:
        emit("content_block_delta", True, index=index, delta=fields)

    emit("message_start", message=_message(req, f"msg_{uuid.uuid4().hex[:24]}", answer, False))
    emit("ping")
    index = 0
    if answer.reasoning:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        emit("content_block_start", index=index, content_block=block)
        for token in answer.reasoning:
            delta(index, type="thinking_delta", thinking=token)
        delta(index, type="signature_delta", signature=SIGNATURE)
        emit("content_block_stop", index=index)
        index += 1
    if answer.tool is not None:
        emit("content_block_start", index=index, content_block=_tool_block(answer, False))
        delta(index, type="input_json_delta", partial_json=answer.tool.arguments)
    else:
        emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
        for token in answer.tokens:
            delta(index, type="text_delta", text=token)
    emit("content_block_stop", index=index)
    reason = {"stop_reason": stop_reason(answer), "stop_sequence": answer.stop_sequence}
    emit("message_delta", delta=reason, usage={"output_tokens": answer.completion_tokens})
    emit("message_stop")
    return events
