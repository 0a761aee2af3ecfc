"""Chat Completions request → the internal conversation and chat job."""

from __future__ import annotations

from grokgate.api.openai.schemas import ChatCompletionRequest, ChatMessageIn, TextPart
from grokgate.core.chat import ChatJob
from grokgate.core.messages import Message, ToolCall, flatten
from grokgate.core.registry import resolve
from grokgate.errors import InvalidRequestError


def _message(index: int, wire: ChatMessageIn) -> Message:
    role = {"developer": "system", "function": "tool"}.get(wire.role, wire.role)
    message = Message(role=role)
    content = wire.content
    if isinstance(content, str):
        message.texts.append(content)
    elif content is not None:
        for j, part in enumerate(content):
            if isinstance(part, TextPart):
                message.texts.append(part.text)
            else:
                raise InvalidRequestError(
                    f"{part.type} content is not supported yet; send text parts only",
                    param=f"messages[{index}].content[{j}]",
                    code="unsupported_content",
                )
    for call in wire.tool_calls or []:
        message.tool_calls.append(ToolCall(call.id, call.function.name, call.function.arguments))
    message.tool_call_id = wire.tool_call_id or (wire.name if wire.role == "function" else None)
    return message


def to_job(body: ChatCompletionRequest, *, show_reasoning: bool) -> ChatJob:
    """Validate what the model table and grok.com can honour, and flatten the history."""
    spec = resolve(body.model)
    if body.n is not None and body.n != 1:
        raise InvalidRequestError("n must be 1: grok.com answers once per request", param="n")
    if body.tools:
        raise InvalidRequestError(
            "tool calling is not supported by this grokgate version", param="tools"
        )
    if not body.messages:
        raise InvalidRequestError("messages must be a non-empty array", param="messages")
    messages = [_message(i, m) for i, m in enumerate(body.messages)]
    effort = (body.reasoning_effort or "").lower()
    return ChatJob(
        spec=spec,
        prompt=flatten(messages),
        show_reasoning=show_reasoning and effort != "none",
    )
