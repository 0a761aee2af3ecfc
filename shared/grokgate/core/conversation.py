"""A surface's converted request → the :class:`~grokgate.core.chat.ChatJob` the service runs.

Every surface ends here: it has resolved the model, converted its messages into
:class:`~grokgate.core.messages.Message` objects and its tools into a
:class:`~grokgate.core.tools.spec.ToolSet`; this flattens the history (docs/grok-protocol.md §3.3)
with the tool instructions in front (§3.4) and gathers the files to upload (§6.4).
"""

from __future__ import annotations

from grokgate.core.chat import ChatJob
from grokgate.core.messages import Message, flatten
from grokgate.core.registry import ModelSpec
from grokgate.core.tools.prompt import tool_prompt
from grokgate.core.tools.spec import ToolSet
from grokgate.errors import InvalidRequestError

FILES_ONLY_TEXT = "Please look at the attached file(s)."
MAX_FILES = 10


def build_prompt(messages: list[Message], tools: ToolSet | None) -> str:
    """The single grok.com ``message``: tool instructions, then the flattened history."""
    for message in messages:
        if message.files and not any(t.strip() for t in message.texts):
            message.texts.append(FILES_ONLY_TEXT)  # grok.com needs text with a file
    return flatten(messages, tool_prompt(tools) if tools is not None else None)


def build_job(
    spec: ModelSpec,
    messages: list[Message],
    *,
    tools: ToolSet | None = None,
    show_reasoning: bool = True,
    max_output_tokens: int | None = None,
) -> ChatJob:
    files = tuple(f for m in messages for f in m.files)
    if len(files) > MAX_FILES:
        raise InvalidRequestError(
            f"at most {MAX_FILES} images and files can be attached to one request "
            f"({len(files)} were sent)",
            param="messages",
        )
    if max_output_tokens is not None and max_output_tokens < 1:
        raise InvalidRequestError("the output token limit must be at least 1")
    return ChatJob(
        spec=spec,
        prompt=build_prompt(messages, tools),
        show_reasoning=show_reasoning,
        tools=tools,
        files=files,
        max_output_tokens=max_output_tokens,
    )
