"""The deterministic answer rule of the xAI fake, shared by every endpoint format.

Each API format (chat completions, Responses, Anthropic Messages) is first reduced to a list
of :class:`Turn` (role + plain text; images and other parts are ignored) and its function
tools to :class:`ToolSpec`; :func:`plan_answer` then decides:

* **Text**: ``"Echo: <text of the last user turn>"`` (``"Echo:"`` when there is none). When
  the last turn is a tool result (role ``tool``) the text is ``"Tool result: <result>"``.
* **Tokens**: the text split by :func:`split_tokens` into words that keep their leading
  whitespace (``"Echo: hi there"`` → ``["Echo:", " hi", " there"]``); joined they give the
  text back. Each token is one streamed content delta.
* **Reasoning**: models named ``*reasoning*`` (not ``*non-reasoning*``) also produce
  ``"Reasoning about: <same text>"``, streamed before the content.
* **Stop**: the text is cut before the earliest occurrence of any stop string (finish
  ``stop``; the matched string is kept for Anthropic's ``stop_sequence``).
* **max tokens**: the content tokens (not the reasoning tokens) are cut to the limit; when
  that drops a token the finish is ``length``.
* **Tool call**: when a tool is selected (the first function tool, or the one ``tool_choice``
  names; none for ``tool_choice`` ``none``) and the last turn is the user's, the answer is one
  call of that tool and no text: arguments are a JSON object with one placeholder per
  *required* property (``enum`` → first value, string → ``"example"``, integer → 1, number →
  1.5, boolean → true, array → [], object → {}, null → null), finish ``tool_calls``.
* **Usage**: prompt tokens = whitespace-separated words of every turn (at least 1);
  completion tokens = content tokens + reasoning tokens (a tool call counts the
  whitespace-separated words of its arguments, at least 1). ``n`` choices are identical.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from .xai_state import is_reasoning_model

__all__ = [
    "Answer",
    "ToolCall",
    "ToolSpec",
    "Turn",
    "count_words",
    "placeholder_arguments",
    "plan_answer",
    "split_tokens",
    "text_of",
]

_TOKEN = re.compile(r"\s*\S+")

Finish = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True)
class Turn:
    role: str  # system | developer | user | assistant | tool
    text: str


@dataclass(frozen=True)
class ToolSpec:
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON object text
    call_id: str

    @property
    def input(self) -> dict[str, Any]:
        return json.loads(self.arguments)


@dataclass(frozen=True)
class Answer:
    tokens: list[str]
    reasoning: list[str]
    finish: Finish
    prompt_tokens: int
    tool: ToolCall | None = None
    stop_sequence: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def reasoning_tokens(self) -> int:
        return len(self.reasoning)

    @property
    def completion_tokens(self) -> int:
        if self.tool is not None:
            return max(1, count_words(self.tool.arguments)) + len(self.reasoning)
        return len(self.tokens) + len(self.reasoning)


def split_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count_words(text: str) -> int:
    return len(text.split())


def text_of(content: Any) -> str:
    """Plain text of a message content: a string, or the ``text`` of its parts (joined by a
    space; parts without text are skipped), or a tool result's nested content."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [text_of(part) for part in content]
        return " ".join(t for t in texts if t)
    if isinstance(content, dict):
        for name in ("text", "output", "content"):
            if name in content:
                return text_of(content[name])
    return ""


def _placeholder(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "example"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return {
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }.get(kind, "example")


def placeholder_arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    """One placeholder value per required property of a JSON schema (see module docstring)."""
    props = parameters.get("properties") if isinstance(parameters, dict) else None
    required = parameters.get("required") if isinstance(parameters, dict) else None
    if not isinstance(props, dict) or not isinstance(required, list):
        return {}
    return {name: _placeholder(props.get(name)) for name in required if isinstance(name, str)}


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, str | None]:
    best: tuple[int, str] | None = None
    for stop in stops:
        if not stop:
            continue
        at = text.find(stop)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


def plan_answer(
    model: str,
    turns: list[Turn],
    *,
    tool: ToolSpec | None = None,
    max_tokens: int | None = None,
    stops: list[str] | None = None,
    call_prefix: str = "call_",
) -> Answer:
    """The answer to ``turns`` (see the module docstring); ``tool`` is the selected tool."""
    prompt_tokens = max(1, sum(count_words(t.text) for t in turns))
    last = turns[-1] if turns else None
    if last is not None and last.role == "tool":
        text = f"Tool result: {last.text}".rstrip()
    else:
        user = next((t.text for t in reversed(turns) if t.role == "user"), "")
        text = f"Echo: {user}".rstrip()
    reasoning = split_tokens(f"Reasoning about: {text}") if is_reasoning_model(model) else []
    if tool is not None and last is not None and last.role == "user":
        arguments = json.dumps(placeholder_arguments(tool.parameters), separators=(",", ":"))
        call = ToolCall(tool.name, arguments, call_prefix + uuid.uuid4().hex[:24])
        return Answer([], reasoning, "tool_calls", prompt_tokens, tool=call)
    text, matched = _cut_at_stop(text, stops or [])
    tokens = split_tokens(text)
    finish: Finish = "stop"
    if max_tokens is not None and len(tokens) > max_tokens:
        tokens, finish, matched = tokens[:max_tokens], "length", None
    return Answer(tokens, reasoning, finish, prompt_tokens, stop_sequence=matched)
