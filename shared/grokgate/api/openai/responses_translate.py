"""Responses API request → the internal conversation, tools and chat job, plus what to echo.

``input`` is a string (one user message) or a list of items: messages (with or without
``"type": "message"``; text, image and file parts), ``function_call`` items (merged into one
assistant turn with tool calls), ``function_call_output`` items (tool results) and ``reasoning``
items (ignored: grok.com cannot take them back). ``instructions`` becomes a leading system
message. Anything grokgate cannot honour is a 400 naming the exact ``param``.

``previous_response_id``, ``conversation`` and ``item_reference`` items are resolved before this
runs (:mod:`grokgate.api.openai.responses_state`): the plan is built from the whole history.
Request fields grokgate does not implement and that would change what the model sees are refused
(:data:`REFUSED_FIELDS`); the README lists every decision.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from grokgate.api.openai.responses_schemas import (
    PART_MODELS,
    EchoedRequest,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionToolIn,
    FunctionToolOut,
    InputFilePart,
    InputImagePart,
    InputTextPart,
    MessageItem,
    OutputTextPart,
    ReasoningConfigOut,
    RefusalPart,
    ResponsesRequest,
)
from grokgate.core.attachments import FileInput
from grokgate.core.chat import ChatJob
from grokgate.core.conversation import build_job
from grokgate.core.messages import Message, ToolCall
from grokgate.core.registry import ModelSpec
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet, ToolSpec, make_toolset
from grokgate.errors import InvalidRequestError

M = TypeVar("M", bound=BaseModel)

WEB_SEARCH_TOOLS = frozenset(
    {"web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"}
)
REFUSED_FIELDS = {
    "prompt": "reusable prompts (prompt templates) are not supported: send the instructions "
    "and messages themselves",
}
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


@dataclass(frozen=True, slots=True)
class ResponsesPlan:
    job: ChatJob
    echo: EchoedRequest


# --- validation helpers -----------------------------------------------------------------------


def _param(base: str, loc: tuple[int | str, ...]) -> str:
    out = base
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() and part not in _UNION_TAGS:  # skip pydantic's union tags
            out += f".{part}" if out else part
    return out


def wire(model: type[M], raw: object, param: str) -> M:
    """``raw`` validated as ``model``; a 400 naming the failing field otherwise."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _param(param, tuple(first.get("loc", ())))
        raise InvalidRequestError(
            f"Invalid value for '{where}': {first.get('msg', 'invalid value')}", param=where
        ) from None


def _unsupported(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="unsupported_content")


# --- content parts ----------------------------------------------------------------------------


def _image(part: InputImagePart, param: str) -> FileInput:
    if part.file_id and not part.image_url:
        raise _unsupported(
            "file_id references are not supported: send the image as image_url "
            "(an https URL or a data URI)",
            f"{param}.file_id",
        )
    url = part.image_url or ""
    if not url.startswith(("data:", "https://", "http://")):
        raise InvalidRequestError(
            "input_image needs image_url: an https URL or a data URI", param=f"{param}.image_url"
        )
    return FileInput(source=url, kind="image", param=f"{param}.image_url")


def _file(part: InputFilePart, param: str) -> FileInput:
    name = part.filename
    if part.file_data:
        data = part.file_data
        if not data.startswith("data:"):  # bare base64, as the SDK documents it
            mime = (mimetypes.guess_type(name)[0] if name else None) or "application/octet-stream"
            data = f"data:{mime};base64,{data}"
        return FileInput(source=data, kind="file", name=name, param=f"{param}.file_data")
    if part.file_url:
        if not part.file_url.startswith(("https://", "http://")):
            raise InvalidRequestError("file_url must be an https URL", param=f"{param}.file_url")
        return FileInput(source=part.file_url, kind="file", name=name, param=f"{param}.file_url")
    if part.file_id:
        raise _unsupported(
            "file_id references are not supported: send the file inline as file_data "
            "(with filename) or as file_url",
            f"{param}.file_id",
        )
    raise InvalidRequestError("input_file needs file_data or file_url", param=param)


def _part(raw: object, param: str) -> Any:
    kind = raw.get("type") if isinstance(raw, dict) else None
    model = PART_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise _unsupported(
            f"content part type {kind!r} is not supported; use input_text, output_text, "
            "refusal, input_image or input_file",
            f"{param}.type" if isinstance(raw, dict) else param,
        )
    return wire(model, raw, param)


def _message(index: int, item: MessageItem) -> Message:
    role = "system" if item.role == "developer" else item.role
    message = Message(role=role)
    base = f"input[{index}].content"
    if isinstance(item.content, str):
        message.texts.append(item.content)
        return message
    for j, raw in enumerate(item.content):
        param = f"{base}[{j}]"
        part = _part(raw, param)
        if isinstance(part, InputTextPart | OutputTextPart):
            message.texts.append(part.text)
        elif isinstance(part, RefusalPart):
            message.texts.append(part.refusal)
        elif role == "assistant":
            raise _unsupported(
                f"{part.type} content is not supported in an assistant message", param
            )
        elif isinstance(part, InputImagePart):
            message.files.append(_image(part, param))
        else:
            message.files.append(_file(part, param))
    return message


def _tool_output(index: int, item: FunctionCallOutputItem) -> Message:
    message = Message(role="tool", tool_call_id=item.call_id)
    if isinstance(item.output, str):
        message.texts.append(item.output)
        return message
    texts: list[str] = []
    for j, raw in enumerate(item.output):
        param = f"input[{index}].output[{j}]"
        part = _part(raw, param)
        if not isinstance(part, InputTextPart | OutputTextPart):
            raise _unsupported(f"{part.type} is not supported in a function_call_output", param)
        texts.append(part.text)
    message.texts.append("\n".join(texts))
    return message


# --- input ------------------------------------------------------------------------------------


def _item_kind(index: int, raw: object) -> str:
    if not isinstance(raw, dict):
        raise InvalidRequestError("input items must be objects", param=f"input[{index}]")
    kind = raw.get("type")
    if kind is None and "role" in raw:
        return "message"
    if not isinstance(kind, str):
        raise InvalidRequestError("input items need a type", param=f"input[{index}].type")
    return kind


def to_messages(value: Any) -> list[Message]:
    """``input`` (a string or a list of items) → the conversation."""
    if isinstance(value, str):
        return [Message(role="user", texts=[value])]
    if not isinstance(value, list) or not value:
        raise InvalidRequestError(
            "input must be a string or a non-empty array of input items", param="input"
        )
    messages: list[Message] = []
    for i, raw in enumerate(value):
        kind = _item_kind(i, raw)
        param = f"input[{i}]"
        if kind == "message":
            messages.append(_message(i, wire(MessageItem, raw, param)))
        elif kind == "function_call":
            call = wire(FunctionCallItem, raw, param)
            tool_call = ToolCall(call.call_id, call.name, call.arguments)
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                last.tool_calls.append(tool_call)  # one assistant turn, several calls
            else:
                messages.append(Message(role="assistant", tool_calls=[tool_call]))
        elif kind == "function_call_output":
            messages.append(_tool_output(i, wire(FunctionCallOutputItem, raw, param)))
        elif kind == "reasoning":
            continue  # the model's own earlier reasoning: grok.com cannot take it back
        elif kind == "item_reference":  # resolved earlier; one left here was not found
            raise InvalidRequestError(
                "item_reference items need a stored item's id", param=param, code="unsupported_item"
            )
        else:
            raise InvalidRequestError(
                f"input item type {kind!r} is not supported; use message, function_call, "
                "function_call_output or reasoning items",
                param=f"{param}.type",
                code="unsupported_item",
            )
    return messages


# --- tools ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tools:
    specs: list[ToolSpec]  # the function tools
    echo: list[FunctionToolOut | dict[str, Any]]  # every tool, as the response repeats it
    positions: list[int]  # where in ``tools`` each spec came from

    def toolset(self, choice: ToolChoice) -> ToolSet | None:
        """The checked toolset; errors name the tool's index in the request."""
        try:
            return make_toolset(self.specs, choice, param="tools")
        except InvalidRequestError as exc:
            found = re.match(r"tools\[(\d+)\]", exc.param or "")
            if found:
                where = self.positions[int(found.group(1))]
                exc.param = f"tools[{where}]" + (exc.param or "")[found.end() :]
            raise


def to_tools(value: Any) -> Tools:
    """Function tools → specs; web search tools are accepted and dropped (grok.com searches by
    itself) but still echoed."""
    tools = Tools([], [], [])
    if value is None:
        return tools
    if not isinstance(value, list):
        raise InvalidRequestError("tools must be an array", param="tools")
    specs, echo = tools.specs, tools.echo
    for i, raw in enumerate(value):
        kind = raw.get("type") if isinstance(raw, dict) else None
        if isinstance(raw, dict) and kind in WEB_SEARCH_TOOLS:
            echo.append(raw)
            continue
        if kind != "function":
            raise InvalidRequestError(
                f"tool type {kind!r} is not supported; use function tools (web_search tools are "
                "accepted: grok.com searches the web by itself)",
                param=f"tools[{i}].type",
            )
        tool = wire(FunctionToolIn, raw, f"tools[{i}]")
        specs.append(ToolSpec(tool.name, tool.description or "", tool.parameters or {}))
        tools.positions.append(i)
        echo.append(
            FunctionToolOut(
                name=tool.name,
                description=tool.description,
                parameters=tool.parameters,
                strict=tool.strict,
            )
        )
    return tools


def to_choice(value: Any) -> ToolChoice:
    if value is None:
        return ToolChoice()
    if isinstance(value, str) and value in ("auto", "none", "required"):
        return ToolChoice(Choice(value))
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "function" and isinstance(value.get("name"), str) and value["name"]:
        return ToolChoice(Choice.NAMED, value["name"])
    if kind == "allowed_tools" and value.get("mode") in ("auto", "required"):
        # The subset is not enforced; one named function under "required" forces that one.
        names = [
            t.get("name") for t in value.get("tools") or [] if isinstance(t, dict) and t.get("name")
        ]
        if value["mode"] == "required":
            if len(names) == 1:
                return ToolChoice(Choice.NAMED, str(names[0]))
            return ToolChoice(Choice.REQUIRED)
        return ToolChoice()
    if kind in WEB_SEARCH_TOOLS:
        return ToolChoice()  # grok.com decides by itself when to search
    raise InvalidRequestError(
        "tool_choice must be 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": ...}",
        param="tool_choice",
    )


# --- the whole request ------------------------------------------------------------------------


def refuse_unimplemented(body: ResponsesRequest) -> None:
    """The 400 for a request field grokgate would otherwise drop though it matters."""
    for name, why in REFUSED_FIELDS.items():
        if (body.model_extra or {}).get(name) is not None:
            raise InvalidRequestError(why, param=name, code="unsupported_parameter")
    if body.background:
        raise InvalidRequestError(
            "background responses are not supported: use stream=true for long answers",
            param="background",
            code="unsupported_parameter",
        )


def _echo(body: ResponsesRequest, tools: list[FunctionToolOut | dict[str, Any]]) -> EchoedRequest:
    reasoning = body.reasoning
    return EchoedRequest(
        instructions=body.instructions,
        tools=tools,
        tool_choice=body.tool_choice if body.tool_choice is not None else "auto",
        parallel_tool_calls=body.parallel_tool_calls is not False,
        temperature=body.temperature,
        top_p=body.top_p,
        max_output_tokens=body.max_output_tokens,
        reasoning=ReasoningConfigOut(
            effort=reasoning.effort if reasoning else None,
            summary=(reasoning.summary or reasoning.generate_summary) if reasoning else None,
        ),
        text=body.text or {"format": {"type": "text"}},
        truncation=body.truncation or "disabled",
        metadata=body.metadata or {},
        user=body.user,
    )


def to_plan(
    body: ResponsesRequest, spec: ModelSpec, *, show_reasoning: bool, items: Any = None
) -> ResponsesPlan:
    """Validate what grok.com can honour for the model ``spec``, and build the job from
    ``items`` (the whole history, when the request continues a stored one) or ``input``."""
    refuse_unimplemented(body)
    if body.max_output_tokens is not None and body.max_output_tokens < 1:
        raise InvalidRequestError("max_output_tokens must be at least 1", param="max_output_tokens")
    messages = to_messages(body.input if items is None else items)
    if body.instructions and body.instructions.strip():
        messages.insert(0, Message(role="system", texts=[body.instructions]))
    offered = to_tools(body.tools)
    tools = offered.toolset(to_choice(body.tool_choice))
    effort = ((body.reasoning.effort if body.reasoning else None) or "").lower()
    try:
        job = build_job(
            spec,
            messages,
            tools=tools,
            show_reasoning=show_reasoning and effort != "none",
            max_output_tokens=body.max_output_tokens,
        )
    except InvalidRequestError as exc:
        if exc.param == "messages":  # core's name for the conversation; here it is ``input``
            exc.param = "input"
        raise
    return ResponsesPlan(job=job, echo=_echo(body, offered.echo))
