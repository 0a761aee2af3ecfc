"""OpenAI Responses API wire shapes (``POST /v1/responses``) as pydantic v2 models.

Requests accept every OpenAI field (extras are allowed and ignored). The fields whose shape is a
union (``input``, ``tools``, ``tool_choice``) are typed loosely here and checked item by item in
:mod:`grokgate.api.openai.responses_translate`, so errors name the exact ``param``
(``input[2].content[0].file_id``). Output shapes mirror ``openai.types.responses`` field for
field; the stream events mirror ``openai.types.responses.ResponseStreamEvent``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from grokgate.api.openai.schemas import ErrorDetail

# --- request ----------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReasoningParam(_In):
    effort: str | None = None
    summary: str | None = None
    generate_summary: str | None = None


class ResponsesRequest(_In):
    """``POST /v1/responses``; ``input``/``tools``/``tool_choice`` are checked by translate."""

    model: str | None = None
    input: Any = None  # a string, or a list of input items
    instructions: str | None = None
    tools: Any = None  # a list of tools
    tool_choice: Any = None  # "auto" | "none" | "required" | {"type": ..., ...}
    reasoning: ReasoningParam | None = None
    text: dict[str, Any] | None = None
    max_output_tokens: int | None = None
    stream: bool | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    conversation: Any = None
    background: bool | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    truncation: str | None = None
    include: list[str] | None = None


class InputTextPart(_In):
    type: Literal["input_text"]
    text: str


class OutputTextPart(_In):
    type: Literal["output_text"]
    text: str


class RefusalPart(_In):
    type: Literal["refusal"]
    refusal: str


class InputImagePart(_In):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class InputFilePart(_In):
    type: Literal["input_file"]
    file_data: str | None = None
    file_url: str | None = None
    file_id: str | None = None
    filename: str | None = None


ContentPartIn = InputTextPart | OutputTextPart | RefusalPart | InputImagePart | InputFilePart
PART_MODELS: dict[str, type[ContentPartIn]] = {
    "input_text": InputTextPart,
    "output_text": OutputTextPart,
    "refusal": RefusalPart,
    "input_image": InputImagePart,
    "input_file": InputFilePart,
}


class MessageItem(_In):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Any]


class FunctionCallItem(_In):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str = "{}"


class FunctionCallOutputItem(_In):
    type: Literal["function_call_output"]
    call_id: str | None = None
    output: str | list[Any]


class FunctionToolIn(_In):
    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


# --- output items -----------------------------------------------------------------------------


class UrlCitationOut(BaseModel):
    type: Literal["url_citation"] = "url_citation"
    start_index: int
    end_index: int
    url: str
    title: str


class OutputTextOut(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[UrlCitationOut] = Field(default_factory=list)
    logprobs: list[Any] = Field(default_factory=list)


ItemStatus = Literal["in_progress", "completed", "incomplete"]


class MessageOut(BaseModel):
    type: Literal["message"] = "message"
    id: str
    role: Literal["assistant"] = "assistant"
    status: ItemStatus
    content: list[OutputTextOut]


class SummaryTextOut(BaseModel):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningOut(BaseModel):
    type: Literal["reasoning"] = "reasoning"
    id: str
    summary: list[SummaryTextOut]


class FunctionCallOut(BaseModel):
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: ItemStatus


OutputItem = Annotated[MessageOut | ReasoningOut | FunctionCallOut, Field(discriminator="type")]


# --- the response object ----------------------------------------------------------------------


class FunctionToolOut(BaseModel):
    type: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ReasoningConfigOut(BaseModel):
    effort: str | None = None
    summary: str | None = None


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsageOut(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetailsOut(BaseModel):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseErrorOut(BaseModel):
    code: Literal["server_error", "rate_limit_exceeded"]  # the codes the SDK's model allows
    message: str
    type: str | None = None
    param: str | None = None


class ConversationRefOut(BaseModel):
    id: str


class EchoedRequest(BaseModel):
    """The request fields a response object repeats (translate fills them in)."""

    instructions: str | None = None
    tools: list[FunctionToolOut | dict[str, Any]] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    reasoning: ReasoningConfigOut = Field(default_factory=ReasoningConfigOut)
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    truncation: str = "disabled"
    metadata: dict[str, str] = Field(default_factory=dict)
    user: str | None = None
    store: bool = True
    previous_response_id: str | None = None
    conversation: ConversationRefOut | None = None
    background: bool = False


ResponseStatus = Literal["in_progress", "completed", "incomplete", "failed"]


class _ResponseHead(BaseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    completed_at: int | None = None
    status: ResponseStatus
    model: str
    output: list[OutputItem]
    error: ResponseErrorOut | None = None
    incomplete_details: IncompleteDetailsOut | None = None
    usage: ResponseUsageOut | None = None


class ResponseOut(EchoedRequest, _ResponseHead):
    """The response object: its own fields first, then the echoed request fields."""


# --- stream events ----------------------------------------------------------------------------


class _Event(BaseModel):
    sequence_number: int

    @model_serializer(mode="wrap")
    def _type_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {"type": data.pop("type"), **data}


class LifecycleEvent(_Event):
    type: Literal[
        "response.created",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    ]
    response: ResponseOut


class OutputItemEvent(_Event):
    type: Literal["response.output_item.added", "response.output_item.done"]
    output_index: int
    item: OutputItem


class _InItem(_Event):
    item_id: str
    output_index: int


class SummaryPartEvent(_InItem):
    type: Literal["response.reasoning_summary_part.added", "response.reasoning_summary_part.done"]
    summary_index: int
    part: SummaryTextOut


class SummaryTextDeltaEvent(_InItem):
    type: Literal["response.reasoning_summary_text.delta"] = "response.reasoning_summary_text.delta"
    summary_index: int
    delta: str


class SummaryTextDoneEvent(_InItem):
    type: Literal["response.reasoning_summary_text.done"] = "response.reasoning_summary_text.done"
    summary_index: int
    text: str


class ContentPartEvent(_InItem):
    type: Literal["response.content_part.added", "response.content_part.done"]
    content_index: int
    part: OutputTextOut


class TextDeltaEvent(_InItem):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    content_index: int
    delta: str
    logprobs: list[Any] = Field(default_factory=list)


class TextDoneEvent(_InItem):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    content_index: int
    text: str
    logprobs: list[Any] = Field(default_factory=list)


class AnnotationAddedEvent(_InItem):
    type: Literal["response.output_text.annotation.added"] = "response.output_text.annotation.added"
    content_index: int
    annotation_index: int
    annotation: UrlCitationOut


class ArgumentsDeltaEvent(_InItem):
    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    delta: str


class ArgumentsDoneEvent(_InItem):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    arguments: str


class ErrorEvent(_Event):
    """``error``: the documented flat fields, plus the nested ``error`` object OpenAI really
    sends (and on which the openai SDK raises ``APIError``)."""

    type: Literal["error"] = "error"
    code: str | None = None
    message: str
    param: str | None = None
    error: ErrorDetail


StreamEvent = (
    LifecycleEvent
    | OutputItemEvent
    | SummaryPartEvent
    | SummaryTextDeltaEvent
    | SummaryTextDoneEvent
    | ContentPartEvent
    | TextDeltaEvent
    | TextDoneEvent
    | AnnotationAddedEvent
    | ArgumentsDeltaEvent
    | ArgumentsDoneEvent
    | ErrorEvent
)
