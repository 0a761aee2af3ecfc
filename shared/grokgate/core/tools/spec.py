"""The tools a request offers and its ``tool_choice``, in neutral form.

Each surface converts its own wire shape (Chat Completions' nested ``function``, Responses' flat
tool, Anthropic's ``input_schema``) into a :class:`ToolSet`; everything below works on that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from grokgate.errors import InvalidRequestError

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_TOOLS = 128


class Choice(StrEnum):
    AUTO = "auto"  # the model decides
    NONE = "none"  # never call a tool (tools stay described for the history only)
    REQUIRED = "required"  # call at least one tool
    NAMED = "named"  # call exactly the tool ``ToolChoice.name``


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)  # JSON schema of the arguments


@dataclass(frozen=True, slots=True)
class ToolChoice:
    kind: Choice = Choice.AUTO
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ToolSet:
    tools: tuple[ToolSpec, ...]
    choice: ToolChoice = ToolChoice()

    @property
    def calls_allowed(self) -> bool:
        """Whether answers may contain tool calls (the sieve runs only then)."""
        return bool(self.tools) and self.choice.kind is not Choice.NONE

    @property
    def names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tools)


def make_toolset(tools: list[ToolSpec], choice: ToolChoice, *, param: str) -> ToolSet | None:
    """Validate names, duplicates and a named choice; ``None`` when no tool is offered.

    ``param`` is the request field the tools came from (for the error's ``param``).
    """
    if len(tools) > MAX_TOOLS:
        raise InvalidRequestError(f"at most {MAX_TOOLS} tools are supported", param=param)
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if not _NAME.match(tool.name):
            raise InvalidRequestError(
                f"tool name {tool.name[:64]!r} must be 1-128 letters, digits, '_', '.', ':' or '-'",
                param=f"{param}[{i}].name",
            )
        if tool.name in seen:
            raise InvalidRequestError(f"tool {tool.name!r} is defined twice", param=param)
        seen.add(tool.name)
    if not tools:
        if choice.kind in (Choice.REQUIRED, Choice.NAMED):
            raise InvalidRequestError(
                "tool_choice requires tools, but no tool was provided", param="tool_choice"
            )
        return None
    if choice.kind is Choice.NAMED and choice.name not in seen:
        raise InvalidRequestError(
            f"tool_choice names {choice.name!r}, which is not among the tools",
            param="tool_choice",
        )
    return ToolSet(tuple(tools), choice)
