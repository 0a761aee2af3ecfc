"""Anthropic Messages wire shapes (requests, the ``Message``, stream events) as pydantic v2 models.

Requests accept every Anthropic field; unknown ones are allowed and ignored, except those
``grokgate.api.anthropic.fields`` refuses, and ``thread`` is read by
``grokgate.api.anthropic.threads``. Content given as a plain string is read as one text block,
so every content field is a list of blocks. Responses
follow the ``anthropic`` SDK's types (``anthropic.types.Message``, ``RawMessageStreamEvent``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _blocks(value: Any) -> Any:
    """A plain string is shorthand for one text block."""
    return [{"type": "text", "text": value}] if isinstance(value, str) else value


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- request content blocks -------------------------------------------------------------------


class TextBlockIn(_In):
    type: Literal["text"]
    text: str


class Base64SourceIn(_In):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlSourceIn(_In):
    type: Literal["url"]
    url: str


class FileSourceIn(_In):  # a Files API reference (not supported: there is no Files API)
    type: Literal["file"]
    file_id: str


class PlainTextSourceIn(_In):
    type: Literal["text"]
    media_type: str = "text/plain"
    data: str


ImageSourceIn = Annotated[Base64SourceIn | UrlSourceIn | FileSourceIn, Field(discriminator="type")]


class ImageBlockIn(_In):
    type: Literal["image"]
    source: ImageSourceIn


class ContentSourceIn(_In):
    type: Literal["content"]
    content: Annotated[
        list[Annotated[TextBlockIn | ImageBlockIn, Field(discriminator="type")]],
        BeforeValidator(_blocks),
    ]


DocumentSourceIn = Annotated[
    Base64SourceIn | PlainTextSourceIn | ContentSourceIn | UrlSourceIn | FileSourceIn,
    Field(discriminator="type"),
]


class DocumentBlockIn(_In):
    type: Literal["document"]
    source: DocumentSourceIn
    title: str | None = None
    context: str | None = None


class ToolUseBlockIn(_In):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


ToolResultContentIn = Annotated[
    TextBlockIn | ImageBlockIn | DocumentBlockIn, Field(discriminator="type")
]


class ToolResultBlockIn(_In):
    type: Literal["tool_result"]
    tool_use_id: str
    content: Annotated[list[ToolResultContentIn], BeforeValidator(_blocks)] = Field(
        default_factory=list
    )
    is_error: bool = False


class ThinkingBlockIn(_In):  # earlier thinking, sent back by the client: ignored
    type: Literal["thinking"]
    thinking: str = ""
    signature: str | None = None


class RedactedThinkingBlockIn(_In):
    type: Literal["redacted_thinking"]
    data: str = ""


ContentBlockIn = Annotated[
    TextBlockIn
    | ImageBlockIn
    | DocumentBlockIn
    | ToolUseBlockIn
    | ToolResultBlockIn
    | ThinkingBlockIn
    | RedactedThinkingBlockIn,
    Field(discriminator="type"),
]


class MessageIn(_In):
    role: Literal["user", "assistant"]
    content: Annotated[list[ContentBlockIn], BeforeValidator(_blocks)]


# --- request options --------------------------------------------------------------------------


class ThinkingEnabledIn(_In):
    type: Literal["enabled"]
    budget_tokens: int
    display: Literal["summarized", "omitted"] | None = None


class ThinkingAdaptiveIn(_In):
    type: Literal["adaptive"]
    display: Literal["summarized", "omitted"] | None = None


class ThinkingDisabledIn(_In):
    type: Literal["disabled"]


ThinkingIn = Annotated[
    ThinkingEnabledIn | ThinkingAdaptiveIn | ThinkingDisabledIn, Field(discriminator="type")
]


class ToolIn(_In):
    """A custom tool (``type`` absent or ``custom``) or a server tool (``web_search_*``...)."""

    type: str | None = None
    name: str
    description: str | None = None
    input_schema: dict[str, Any] | None = None


class ToolChoiceIn(_In):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class CountTokensRequest(_In):
    """``POST /v1/messages/count_tokens``: the conversation, without generation options."""

    model: str | None = None  # required; resolved by the model registry for a clear error
    messages: list[MessageIn]
    system: Annotated[list[TextBlockIn], BeforeValidator(_blocks)] | None = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    thinking: ThinkingIn | None = None


class MessagesRequest(CountTokensRequest):
    """``POST /v1/messages``. Sampling options are accepted but grok.com takes none
    (docs/grok-protocol.md §3.1)."""

    max_tokens: int = Field(ge=1)
    stream: bool = False
    stop_sequences: list[str] | None = None  # accepted, not enforced
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: dict[str, Any] | None = None
    service_tier: str | None = None


# --- responses --------------------------------------------------------------------------------


class TextBlockOut(BaseModel):
    type: Literal["text"] = "text"
    text: str = ""
    citations: None = None


class ThinkingBlockOut(BaseModel):
    type: Literal["thinking"] = "thinking"
    thinking: str = ""
    signature: str = ""


class ToolUseBlockOut(BaseModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


ContentBlockOut = TextBlockOut | ThinkingBlockOut | ToolUseBlockOut
StopReason = Literal["end_turn", "max_tokens", "tool_use"]


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    service_tier: Literal["standard"] = "standard"


class MessageOut(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[ContentBlockOut]
    stop_reason: StopReason | None
    stop_sequence: None = None
    usage: UsageOut


class CountTokensOut(BaseModel):
    input_tokens: int


class ErrorDetailOut(BaseModel):
    type: str
    message: str
    details: dict[str, Any] | None = None  # ``error_code`` of the thread errors


class ErrorOut(BaseModel):
    """The body of every error on this surface (see ``grokgate.api.anthropic.errors``)."""

    type: Literal["error"] = "error"
    error: ErrorDetailOut


# --- stream events ----------------------------------------------------------------------------


class MessageStartEvent(BaseModel):
    type: Literal["message_start"] = "message_start"
    message: MessageOut


class PingEvent(BaseModel):
    type: Literal["ping"] = "ping"


class ContentBlockStartEvent(BaseModel):
    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: ContentBlockOut


class TextDeltaOut(BaseModel):
    type: Literal["text_delta"] = "text_delta"
    text: str


class ThinkingDeltaOut(BaseModel):
    type: Literal["thinking_delta"] = "thinking_delta"
    thinking: str


class SignatureDeltaOut(BaseModel):
    type: Literal["signature_delta"] = "signature_delta"
    signature: str


class InputJsonDeltaOut(BaseModel):
    type: Literal["input_json_delta"] = "input_json_delta"
    partial_json: str


class ContentBlockDeltaEvent(BaseModel):
    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: TextDeltaOut | ThinkingDeltaOut | SignatureDeltaOut | InputJsonDeltaOut


class ContentBlockStopEvent(BaseModel):
    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class MessageDeltaOut(BaseModel):
    stop_reason: StopReason
    stop_sequence: None = None


class MessageDeltaUsageOut(BaseModel):
    output_tokens: int


class MessageDeltaEvent(BaseModel):
    type: Literal["message_delta"] = "message_delta"
    delta: MessageDeltaOut
    usage: MessageDeltaUsageOut


class MessageStopEvent(BaseModel):
    type: Literal["message_stop"] = "message_stop"


StreamEventOut = (
    MessageStartEvent
    | PingEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
)
