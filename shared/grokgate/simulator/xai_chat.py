"""``POST /v1/chat/completions`` of the xAI fake: request model, turns/tool selection and the
``chat.completion`` / ``chat.completion.chunk`` bodies (answer rule: :mod:`.xai_answers`).

Stream shape, per choice: a role chunk (``{"role": "assistant", "content": ""}``), then one
content event per reasoning token (``reasoning_content``), per content token (``content``) or,
for a tool call, a head delta (``id``, ``type``, ``function.name``, empty ``arguments``) and an
arguments delta (all with ``index`` 0); intermediate chunks carry ``finish_reason: null``. Then
a final chunk per choice (empty delta, the finish reason); with
``stream_options.include_usage`` every chunk carries ``usage: null`` and a last chunk with empty
``choices`` carries the usage; then ``data: [DONE]``. ``n`` > 1 interleaves the choices.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .xai_answers import Answer, ToolSpec, Turn, text_of
from .xai_wire import SseEvent, TextRequest

__all__ = ["FINGERPRINT", "ChatRequest", "chat_events", "chat_json", "chat_tool", "chat_turns"]

FINGERPRINT = "fp_xai_fake"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Any] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _needs_content(self) -> ChatMessage:
        if self.content is None and self.role != "assistant":
            raise ValueError(f"content is required for role {self.role!r}")
        return self


class FunctionDef(_Open):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class ChatTool(_Open):
    type: Literal["function"] = "function"
    function: FunctionDef


class StreamOptions(_Open):
    include_usage: bool = False


class ChatRequest(TextRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=16)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    tools: list[ChatTool] | None = None
    tool_choice: str | dict[str, Any] | None = None

    @property
    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


def chat_turns(req: ChatRequest) -> list[Turn]:
    return [
        Turn("tool" if m.role == "function" else m.role, text_of(m.content)) for m in req.messages
    ]


def chat_tool(req: ChatRequest) -> ToolSpec | None:
    """The tool the fake calls: ``tool_choice``'s function, else the first tool; ``none``
    (or no tools) → None."""
    if not req.tools or req.tool_choice == "none":
        return None
    choice = req.tool_choice
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        for tool in req.tools:
            if tool.function.name == name:
                return ToolSpec(tool.function.name, tool.function.parameters)
    first = req.tools[0].function
    return ToolSpec(first.name, first.parameters)


def _usage(answer: Answer, n: int) -> dict[str, Any]:
    completion = answer.completion_tokens * n
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": answer.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens * n},
    }


def _tool_calls(answer: Answer) -> list[dict[str, Any]] | None:
    if answer.tool is None:
        return None
    function = {"name": answer.tool.name, "arguments": answer.tool.arguments}
    return [{"id": answer.tool.call_id, "type": "function", "function": function}]


def chat_json(req: ChatRequest, answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if answer.tool is not None else answer.text,
        "refusal": None,
    }
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning_text
    if answer.tool is not None:
        message["tool_calls"] = _tool_calls(answer)
    choices = [
        {"index": i, "message": dict(message), "logprobs": None, "finish_reason": answer.finish}
        for i in range(req.n)
    ]
    return {
        "id": f"chatcmpl-{uuid.uuid4()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": _usage(answer, req.n),
    }


def _deltas(answer: Answer) -> list[dict[str, Any]]:
    """The content deltas of one choice (after the role delta)."""
    deltas: list[dict[str, Any]] = [{"reasoning_content": t} for t in answer.reasoning]
    if answer.tool is not None:
        head = {
            "index": 0,
            "id": answer.tool.call_id,
            "type": "function",
            "function": {"name": answer.tool.name, "arguments": ""},
        }
        deltas.append({"tool_calls": [head]})
        deltas.append(
            {"tool_calls": [{"index": 0, "function": {"arguments": answer.tool.arguments}}]}
        )
    else:
        deltas.extend({"content": t} for t in answer.tokens)
    return deltas


def chat_events(req: ChatRequest, answer: Answer) -> list[SseEvent]:
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    base: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4()}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": req.model,
        "system_fingerprint": FINGERPRINT,
    }

    def chunk(index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if include_usage else {}
        return {**base, "choices": [choice], **extra}

    events = [SseEvent(chunk(i, {"role": "assistant", "content": ""}, None)) for i in range(req.n)]
    for delta in _deltas(answer):
        events.extend(SseEvent(chunk(i, delta, None), content=True) for i in range(req.n))
    events.extend(SseEvent(chunk(i, {}, answer.finish)) for i in range(req.n))
    if include_usage:
        events.append(SseEvent({**base, "choices": [], "usage": _usage(answer, req.n)}))
    events.append(SseEvent("[DONE]"))
    return events
