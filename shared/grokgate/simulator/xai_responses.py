"""``POST /v1/responses`` of the xAI fake (OpenAI Responses API shape; answer rule:
:mod:`.xai_answers`). Stateless: ``previous_response_id`` and ``store`` are ignored.

Input: ``instructions`` is a system turn; ``input`` is a string (one user turn) or a list of
items: messages (``role`` + ``content`` string or ``input_text``/``output_text`` parts),
``function_call_output`` (a tool turn with its ``output``) and ``function_call`` (an assistant
turn); other items are ignored. ``max_output_tokens`` is the token limit (status
``incomplete``, reason ``max_output_tokens``).

Output items, in order: a ``reasoning`` item (``*reasoning*`` models, text in
``content[0].text``), then a ``message`` with one ``output_text`` part, or one
``function_call``. Stream (every SSE event named by its ``type``, with a ``sequence_number``):
``response.created``, ``response.in_progress``, per item ``response.output_item.added`` …
deltas … ``response.output_item.done`` (reasoning: ``response.reasoning_text.delta``/``.done``;
message: ``response.content_part.added``, ``response.output_text.delta``/``.done``,
``response.content_part.done``; function call: ``response.function_call_arguments.delta``/
``.done``), then ``response.completed`` (or ``response.incomplete``). No ``[DONE]``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import Field, field_validator

from .xai_answers import Answer, ToolSpec, Turn, text_of
from .xai_wire import SseEvent, TextRequest

__all__ = [
    "ResponsesRequest",
    "responses_events",
    "responses_json",
    "responses_tool",
    "responses_turns",
]


class ResponsesRequest(TextRequest):
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    metadata: dict[str, str] | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(value, list) and not value:
            raise ValueError("input must not be empty")
        return value


def responses_turns(req: ResponsesRequest) -> list[Turn]:
    turns = [Turn("system", req.instructions)] if req.instructions else []
    if isinstance(req.input, str):
        return [*turns, Turn("user", req.input)]
    for item in req.input:
        kind = item.get("type", "message")
        if kind == "message" or (kind is None and "role" in item):
            turns.append(Turn(str(item.get("role", "user")), text_of(item.get("content"))))
        elif kind == "function_call_output":
            turns.append(Turn("tool", text_of(item.get("output"))))
        elif kind == "function_call":
            turns.append(Turn("assistant", ""))
    return turns


def responses_tool(req: ResponsesRequest) -> ToolSpec | None:
    functions = [t for t in req.tools or [] if t.get("type") == "function" and t.get("name")]
    if not functions or req.tool_choice == "none":
        return None
    chosen = functions[0]
    if isinstance(req.tool_choice, dict):
        named = req.tool_choice.get("name")
        chosen = next((t for t in functions if t["name"] == named), chosen)
    parameters = chosen.get("parameters")
    return ToolSpec(str(chosen["name"]), parameters if isinstance(parameters, dict) else {})


class _Ids:
    def __init__(self) -> None:
        self.response = f"resp_{uuid.uuid4().hex}"
        self.reasoning = f"rs_{uuid.uuid4().hex}"
        self.message = f"msg_{uuid.uuid4().hex}"
        self.function = f"fc_{uuid.uuid4().hex}"
        self.created = int(time.time())


def _reasoning_item(ids: _Ids, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [{"type": "reasoning_text", "text": text}]
    status = "in_progress" if text is None else "completed"
    return {
        "id": ids.reasoning,
        "type": "reasoning",
        "summary": [],
        "content": content,
        "status": status,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(ids: _Ids, answer: Answer, done: bool) -> dict[str, Any]:
    status = "in_progress"
    if done:
        status = "incomplete" if answer.finish == "length" else "completed"
    content = [_text_part(answer.text)] if done else []
    return {
        "id": ids.message,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _function_item(ids: _Ids, answer: Answer, done: bool) -> dict[str, Any]:
    assert answer.tool is not None
    return {
        "id": ids.function,
        "type": "function_call",
        "call_id": answer.tool.call_id,
        "name": answer.tool.name,
        "arguments": answer.tool.arguments if done else "",
        "status": "completed" if done else "in_progress",
    }


def _output(ids: _Ids, answer: Answer) -> list[dict[str, Any]]:
    items = [_reasoning_item(ids, answer.reasoning_text)] if answer.reasoning else []
    if answer.tool is not None:
        items.append(_function_item(ids, answer, True))
    else:
        items.append(_message_item(ids, answer, True))
    return items


def _response(req: ResponsesRequest, ids: _Ids, answer: Answer, *, final: bool) -> dict[str, Any]:
    incomplete = final and answer.finish == "length"
    usage = None
    if final:
        usage = {
            "input_tokens": answer.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": answer.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        }
    status = ("incomplete" if incomplete else "completed") if final else "in_progress"
    return {
        "id": ids.response,
        "object": "response",
        "created_at": ids.created,
        "completed_at": int(time.time()) if final and not incomplete else None,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "metadata": req.metadata or {},
        "model": req.model,
        "output": _output(ids, answer) if final else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "store": False,
        "temperature": req.temperature,
        "text": {"format": {"type": "text"}},
        "tool_choice": req.tool_choice or "auto",
        "tools": req.tools or [],
        "top_p": req.top_p,
        "truncation": "disabled",
        "usage": usage,
    }


def responses_json(req: ResponsesRequest, answer: Answer) -> dict[str, Any]:
    return _response(req, _Ids(), answer, final=True)


def responses_events(req: ResponsesRequest, answer: Answer) -> list[SseEvent]:
    ids = _Ids()
    events: list[SseEvent] = []

    def emit(kind: str, content: bool = False, **fields: Any) -> None:
        data = {"type": kind, "sequence_number": len(events), **fields}
        events.append(SseEvent(data, event=kind, content=content))

    emit("response.created", response=_response(req, ids, answer, final=False))
    emit("response.in_progress", response=_response(req, ids, answer, final=False))
    index = 0
    if answer.reasoning:
        where = {"item_id": ids.reasoning, "output_index": index}
        emit("response.output_item.added", output_index=index, item=_reasoning_item(ids, None))
        for token in answer.reasoning:
            emit("response.reasoning_text.delta", True, **where, content_index=0, delta=token)
        text = answer.reasoning_text
        emit("response.reasoning_text.done", **where, content_index=0, text=text)
        emit("response.output_item.done", output_index=index, item=_reasoning_item(ids, text))
        index += 1
    if answer.tool is not None:
        where = {"item_id": ids.function, "output_index": index}
        item = _function_item(ids, answer, False)
        emit("response.output_item.added", output_index=index, item=item)
        emit("response.function_call_arguments.delta", True, **where, delta=answer.tool.arguments)
        emit(
            "response.function_call_arguments.done",
            **where,
            arguments=answer.tool.arguments,
            name=answer.tool.name,
        )
        emit(
            "response.output_item.done", output_index=index, item=_function_item(ids, answer, True)
        )
    else:
        where = {"item_id": ids.message, "output_index": index, "content_index": 0}
        emit(
            "response.output_item.added", output_index=index, item=_message_item(ids, answer, False)
        )
        emit("response.content_part.added", **where, part=_text_part(""))
        for token in answer.tokens:
            emit("response.output_text.delta", True, **where, delta=token, logprobs=[])
        emit("response.output_text.done", **where, text=answer.text, logprobs=[])
        emit("response.content_part.done", **where, part=_text_part(answer.text))
        emit("response.output_item.done", output_index=index, item=_message_item(ids, answer, True))
    final = _response(req, ids, answer, final=True)
    emit(f"response.{final['status']}", response=final)
    return events
