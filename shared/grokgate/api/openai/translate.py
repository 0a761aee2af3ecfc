"""Chat Completions request → the internal conversation and chat job.

Text, ``image_url`` (https or data URI) and ``file`` parts become the conversation; images and
files are uploaded to grok.com by the chat service. ``tools``/``tool_choice`` (and the legacy
``functions``/``function_call``) become a :class:`~grokgate.core.tools.spec.ToolSet`.

Unknown and unimplemented fields pass unless dropping them would change what the model sees or
what the client asked for back (:func:`refuse_unimplemented`; the README lists every decision).
"""

from __future__ import annotations

from typing import Any

from grokgate.api.openai.schemas import (
    ChatCompletionRequest,
    ChatMessageIn,
    FilePart,
    ImagePart,
    TextPart,
)
from grokgate.core.attachments import FileInput
from grokgate.core.chat import ChatJob
from grokgate.core.conversation import build_job
from grokgate.core.messages import Message, ToolCall
from grokgate.core.registry import ModelSpec
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet, ToolSpec, make_toolset
from grokgate.errors import InvalidRequestError


def _file_part(part: FilePart, param: str) -> FileInput:
    file = part.file
    data = file.get("file_data")
    if file.get("file_id") and not data:
        raise InvalidRequestError(
            "file_id references are not supported: send the file inline as file_data",
            param=f"{param}.file.file_id",
            code="unsupported_content",
        )
    if not isinstance(data, str) or not data:
        raise InvalidRequestError("file parts need file.file_data", param=f"{param}.file")
    name = file.get("filename") if isinstance(file.get("filename"), str) else None
    if not data.startswith(("data:", "http://", "https://")):
        data = f"data:application/octet-stream;base64,{data}"  # bare base64, as the SDK sends
    return FileInput(source=data, kind="file", name=name, param=f"{param}.file.file_data")


def _unsupported(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="unsupported_parameter")


def refuse_unimplemented(body: ChatCompletionRequest) -> None:
    """A 400 for the fields grokgate cannot honour and must not drop silently."""
    extra = body.model_extra or {}
    if extra.get("audio") is not None:
        raise _unsupported("audio output is not supported: grok.com answers in text", "audio")
    modalities = extra.get("modalities")
    if isinstance(modalities, list) and "audio" in modalities:
        raise _unsupported("audio output is not supported: grok.com answers in text", "modalities")
    for i, message in enumerate(body.messages):
        if (message.model_extra or {}).get("audio") is not None:
            raise _unsupported(
                "references to earlier audio answers are not supported: send the assistant's "
                "words as content",
                f"messages[{i}].audio",
            )


def to_message(index: int, wire: ChatMessageIn) -> Message:
    """One wire message as the neutral :class:`Message` (texts, files, tool calls)."""
    role = {"developer": "system", "function": "tool"}.get(wire.role, wire.role)
    message = Message(role=role)
    content = wire.content
    refusal = (wire.model_extra or {}).get("refusal")
    if role == "assistant" and isinstance(refusal, str) and refusal.strip() and not content:
        content = refusal  # what the assistant said, though it refused
    if isinstance(content, str):
        message.texts.append(content)
    elif content is not None:
        for j, part in enumerate(content):
            param = f"messages[{index}].content[{j}]"
            if isinstance(part, TextPart):
                message.texts.append(part.text)
            elif isinstance(part, ImagePart) and role in ("user", "system"):
                message.files.append(
                    FileInput(source=part.image_url.url, kind="image", param=f"{param}.image_url")
                )
            elif isinstance(part, FilePart) and role in ("user", "system"):
                message.files.append(_file_part(part, param))
            else:
                raise InvalidRequestError(
                    f"{part.type} content is not supported in a {wire.role} message",
                    param=param,
                    code="unsupported_content",
                )
    for call in wire.tool_calls or []:
        message.tool_calls.append(ToolCall(call.id, call.function.name, call.function.arguments))
    if wire.function_call is not None and role == "assistant":
        fc = wire.function_call
        message.tool_calls.append(ToolCall(f"call_{fc.name}", fc.name, fc.arguments))
    message.tool_call_id = wire.tool_call_id or (wire.name if wire.role == "function" else None)
    return message


def _tool_spec(i: int, tool: dict[str, Any], param: str) -> ToolSpec:
    if param == "tools":
        if tool.get("type", "function") != "function":
            raise InvalidRequestError(
                f"tool type {tool.get('type')!r} is not supported; use function tools",
                param=f"tools[{i}].type",
            )
        fn = tool.get("function")
        param = f"tools[{i}].function"
    else:
        fn, param = tool, f"functions[{i}]"
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise InvalidRequestError("a function tool needs a name", param=f"{param}.name")
    parameters = fn.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidRequestError("parameters must be a JSON schema", param=f"{param}.parameters")
    description = fn.get("description") or ""
    return ToolSpec(fn["name"], str(description), parameters)


def _choice(value: str | dict[str, Any] | None, param: str) -> ToolChoice:
    if value is None:
        return ToolChoice()
    if isinstance(value, str):
        try:
            kind = Choice(value)
        except ValueError:
            kind = None
        if kind is None or kind is Choice.NAMED:
            raise InvalidRequestError(
                f"{param} must be 'none', 'auto', 'required' or a named function", param=param
            )
        return ToolChoice(kind)
    fn = value.get("function") if "function" in value else value
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"{param} must name a function", param=param)
    return ToolChoice(Choice.NAMED, name)


def _toolset(body: ChatCompletionRequest) -> ToolSet | None:
    if body.tools:
        specs = [_tool_spec(i, t, "tools") for i, t in enumerate(body.tools)]
        return make_toolset(specs, _choice(body.tool_choice, "tool_choice"), param="tools")
    if body.functions:
        specs = [_tool_spec(i, t, "functions") for i, t in enumerate(body.functions)]
        return make_toolset(specs, _choice(body.function_call, "function_call"), param="functions")
    return make_toolset([], _choice(body.tool_choice, "tool_choice"), param="tools")


def _output_limit(body: ChatCompletionRequest) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = getattr(body, name)
        if value is not None:
            if value < 1:
                raise InvalidRequestError(f"{name} must be at least 1", param=name)
            return int(value)
    return None


def to_job(body: ChatCompletionRequest, spec: ModelSpec, *, show_reasoning: bool) -> ChatJob:
    """Validate what grok.com can honour for the model ``spec``, and flatten the history."""
    refuse_unimplemented(body)
    if body.n is not None and body.n != 1:
        raise InvalidRequestError("n must be 1: grok.com answers once per request", param="n")
    if not body.messages:
        raise InvalidRequestError("messages must be a non-empty array", param="messages")
    messages = [to_message(i, m) for i, m in enumerate(body.messages)]
    effort = (body.reasoning_effort or "").lower()
    return build_job(
        spec,
        messages,
        tools=_toolset(body),
        show_reasoning=show_reasoning and effort != "none",
        max_output_tokens=_output_limit(body),
    )
