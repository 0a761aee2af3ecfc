"""Anthropic Messages request → the internal conversation and chat job.

``system`` becomes a leading system message; user turns give text, images and documents (files
are uploaded by the chat service) and ``tool_result`` blocks, which become tool messages placed
before the turn's own text; assistant turns give text and ``tool_use`` calls (earlier thinking is
dropped: grok.com never sees it). Custom tools and ``tool_choice`` become a
:class:`~grokgate.core.tools.spec.ToolSet`; server tools (``web_search_*``) are accepted and
ignored, since grok.com searches the web on its own. ``stop_sequences`` is accepted but not
enforced.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from grokgate.api.anthropic.schemas import (
    Base64SourceIn,
    ContentSourceIn,
    CountTokensRequest,
    DocumentBlockIn,
    FileSourceIn,
    ImageBlockIn,
    MessageIn,
    MessagesRequest,
    PlainTextSourceIn,
    TextBlockIn,
    ThinkingDisabledIn,
    ToolIn,
    ToolResultBlockIn,
    ToolUseBlockIn,
    UrlSourceIn,
)
from grokgate.core.attachments import FileInput
from grokgate.core.chat import ChatJob
from grokgate.core.conversation import build_job, build_prompt
from grokgate.core.messages import Message, ToolCall
from grokgate.core.registry import ModelSpec
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet, ToolSpec, make_toolset
from grokgate.errors import InvalidRequestError

R = TypeVar("R", bound=BaseModel)

SERVER_TOOL_PREFIXES = ("web_search_",)  # grok.com searches on its own: accepted, ignored
_CHOICES = {"auto": Choice.AUTO, "any": Choice.REQUIRED, "tool": Choice.NAMED, "none": Choice.NONE}
_USER_BLOCKS = frozenset({"text", "image", "document", "tool_result"})
_ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})


# --- validation -------------------------------------------------------------------------------


def _param(loc: tuple[int | str, ...], body: object) -> str:
    """``messages[0].content[1].source`` for a pydantic error location.

    The location is walked along the body itself, so union labels pydantic inserts (a tagged
    union's tag) are left out; a missing field is the last item and is kept.
    """
    out = ""
    value = body
    for i, item in enumerate(loc):
        if isinstance(item, int) and isinstance(value, list) and 0 <= item < len(value):
            out += f"[{item}]"
            value = value[item]
        elif isinstance(item, str) and isinstance(value, dict) and item in value:
            out += f".{item}" if out else item
            value = value[item]
        elif i == len(loc) - 1:
            out += f".{item}" if out else str(item)
    return out


def parse_request(model: type[R], body: object) -> R:
    """Validate a request body; the first problem becomes a 400 naming its parameter."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.", code="invalid_body")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        param = _param(tuple(first["loc"]), body)
        message = f"{param}: {first['msg']}" if param else first["msg"]
        raise InvalidRequestError(message, param=param or None) from exc


# --- content ----------------------------------------------------------------------------------


def _data_uri(source: Base64SourceIn) -> str:
    return f"data:{source.media_type};base64,{source.data}"


def _url(url: str, param: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InvalidRequestError("a url source must be an http(s) URL", param=f"{param}.url")
    return url


def _no_file_ids(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        "file_id sources (the Files API) are not supported: send the data as base64 or a URL",
        param=f"{param}.source",
        code="unsupported_content",
    )


def _image(block: ImageBlockIn, param: str) -> FileInput:
    source = block.source
    if isinstance(source, FileSourceIn):
        raise _no_file_ids(param)
    if isinstance(source, UrlSourceIn):
        return FileInput(_url(source.url, f"{param}.source"), "image", param=f"{param}.source")
    return FileInput(_data_uri(source), "image", mime=source.media_type, param=f"{param}.source")


def _document(block: DocumentBlockIn, param: str, message: Message) -> None:
    """A document: plain text is inlined, PDFs and URLs are uploaded, nested content unrolled."""
    source = block.source
    heading = [f"{k}: {v}" for k, v in (("Document", block.title), ("Context", block.context)) if v]
    if isinstance(source, PlainTextSourceIn):
        message.texts.append("\n".join([*heading, source.data]))
        return
    if heading:
        message.texts.append("\n".join(heading))
    where = f"{param}.source"
    if isinstance(source, FileSourceIn):
        raise _no_file_ids(param)
    if isinstance(source, UrlSourceIn):
        message.files.append(
            FileInput(_url(source.url, where), "file", name=block.title, param=where)
        )
    elif isinstance(source, Base64SourceIn):
        message.files.append(
            FileInput(
                _data_uri(source), "file", name=block.title, mime=source.media_type, param=where
            )
        )
    elif isinstance(source, ContentSourceIn):
        for j, part in enumerate(source.content):
            if isinstance(part, TextBlockIn):
                message.texts.append(part.text)
            else:
                message.files.append(_image(part, f"{where}.content[{j}]"))


def _tool_result(block: ToolResultBlockIn, param: str) -> Message:
    message = Message(role="tool", tool_call_id=block.tool_use_id)
    for j, part in enumerate(block.content):
        where = f"{param}.content[{j}]"
        if isinstance(part, TextBlockIn):
            message.texts.append(part.text)
        elif isinstance(part, ImageBlockIn):
            message.files.append(_image(part, where))
        else:
            _document(part, where, message)
    text = "\n".join(message.texts)
    message.texts = [f"Error: {text}" if block.is_error else text]
    return message


def _messages(index: int, wire: MessageIn) -> list[Message]:
    """One wire message → its tool results (user turns), then the turn itself."""
    allowed = _USER_BLOCKS if wire.role == "user" else _ASSISTANT_BLOCKS
    results: list[Message] = []
    turn = Message(role=wire.role)
    for j, block in enumerate(wire.content):
        param = f"messages[{index}].content[{j}]"
        if block.type not in allowed:
            raise InvalidRequestError(
                f"{block.type} blocks are not allowed in a {wire.role} message",
                param=f"{param}.type",
                code="unsupported_content",
            )
        if isinstance(block, TextBlockIn):
            turn.texts.append(block.text)
        elif isinstance(block, ImageBlockIn):
            turn.files.append(_image(block, param))
        elif isinstance(block, DocumentBlockIn):
            _document(block, param, turn)
        elif isinstance(block, ToolUseBlockIn):
            arguments = json.dumps(block.input, ensure_ascii=False)
            turn.tool_calls.append(ToolCall(block.id, block.name, arguments))
        elif isinstance(block, ToolResultBlockIn):
            results.append(_tool_result(block, param))
        # thinking / redacted_thinking: earlier reasoning, not part of the flattened history
    has_content = turn.texts or turn.files or turn.tool_calls
    return [*results, turn] if has_content or not results else results


def conversation(body: CountTokensRequest) -> list[Message]:
    if not body.messages:
        raise InvalidRequestError("messages: at least one message is required", param="messages")
    out: list[Message] = []
    if body.system:
        out.append(Message(role="system", texts=[b.text for b in body.system]))
    for i, wire in enumerate(body.messages):
        out.extend(_messages(i, wire))
    return out


# --- tools ------------------------------------------------------------------------------------


def _tool_spec(i: int, tool: ToolIn) -> ToolSpec | None:
    kind = tool.type
    if kind is not None and kind != "custom":
        if kind.startswith(SERVER_TOOL_PREFIXES):
            return None
        raise InvalidRequestError(
            f"tool type {kind!r} is not supported; use custom tools (name, input_schema)",
            param=f"tools[{i}].type",
        )
    if tool.input_schema is None:
        raise InvalidRequestError(
            f"tools[{i}].input_schema: Field required", param=f"tools[{i}].input_schema"
        )
    return ToolSpec(tool.name, tool.description or "", tool.input_schema)


def toolset(body: CountTokensRequest) -> ToolSet | None:
    specs = [s for i, t in enumerate(body.tools or []) if (s := _tool_spec(i, t)) is not None]
    choice = ToolChoice()
    if body.tool_choice is not None:
        wire = body.tool_choice
        if wire.type == "tool" and not wire.name:
            raise InvalidRequestError(
                "tool_choice.name: required when tool_choice.type is 'tool'",
                param="tool_choice.name",
            )
        choice = ToolChoice(_CHOICES[wire.type], wire.name if wire.type == "tool" else None)
    return make_toolset(specs, choice, param="tools")


# --- entry points -----------------------------------------------------------------------------


def thinking_shown(body: CountTokensRequest) -> bool:
    """``enabled`` and ``adaptive`` show the reasoning as thinking blocks (unless ``omitted``)."""
    thinking = body.thinking
    if thinking is None or isinstance(thinking, ThinkingDisabledIn):
        return False
    return thinking.display != "omitted"


def to_job(body: MessagesRequest, spec: ModelSpec, *, show_reasoning: bool) -> ChatJob:
    return build_job(
        spec,
        conversation(body),
        tools=toolset(body),
        show_reasoning=show_reasoning and thinking_shown(body),
        max_output_tokens=body.max_tokens,
    )


def to_prompt(body: CountTokensRequest) -> str:
    """The grok.com ``message`` this request would send (for ``count_tokens``)."""
    return build_prompt(conversation(body), toolset(body))
