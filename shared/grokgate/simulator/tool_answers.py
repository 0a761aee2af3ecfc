"""The simulator's "model" for prompts that offer tools (docs/grok-protocol.md §3.4).

grok.com has no function calling; the gateway describes the tools in a ``[system]:`` block at the
start of the message and expects a ``<tool_calls>`` block back. This module reads that block
from the text alone (the simulator is an independent fake and imports nothing from the gateway)
and answers deterministically. :func:`tool_answer` gives ``None`` when the normal echo answer
applies. Given ``u``, the text of the last ``[user]: `` part:

* The message's last part is a tool result (``[tool result for ID]:`` or ``[tool result]:``):
  ``"Tool result received: " + result.strip()``, plain text, so agent loops end.
* ``tool_choice: none``: ``None``.
* Triggers ``call NAME`` in ``u`` (``NAME`` a listed tool, optionally followed on the same line
  by a JSON object used as the arguments; otherwise arguments are built from the schema's
  ``required`` properties: string ``"sim"``, integer ``1``, number ``1.5``, boolean ``true``,
  array ``[]``, object ``{}``, an enum's first value): one call per trigger, in order. Triggers
  are obeyed even when a named ``tool_choice`` names another tool.
* No trigger: ``required`` calls the first tool, a named choice calls that tool, ``auto`` gives
  ``None``.
* ``u`` contains ``malformed tool call``: one call (the first one chosen by the rules above,
  the first tool under ``auto``) whose parameters are ``{not json``.
* ``u`` contains ``think out loud``: the block is preceded by ``"Let me check that.\\n"``.
* ``u`` contains ``one at a time``: the triggers are called one per turn, in order, the next
  one after each tool result; after the last one's result the answer is ``RESULT_PREFIX`` and
  every tool result since ``u``, joined by ``"; "``. So a client that drops the earlier turns
  (a bare tool result without the user's text) gets no further call, and one that drops a
  result gets an answer without it.

Blocks use the gateway's own multi-line format, with compact JSON parameters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["SimTool", "render_block", "schema_arguments", "tool_answer", "tools_offered"]

_PART_SPLIT_RE = re.compile(r"\n\n(?=\[[^\]\n]+\]:)")  # as in answers.py (no import: no cycle)
_SYSTEM_PREFIX = "[system]: "
_USER_PREFIX = "[user]: "
_TOOL_RESULT_RE = re.compile(r"\[tool result(?: for [^\]\n]*)?\]:")
_CHOICE_RE = re.compile(r"^tool_choice: (\S+)\.(?:\s|$)", re.MULTILINE)
_TRIGGER_RE = re.compile(r"\bcall +([A-Za-z0-9_.:-]+)")
_DECODER = json.JSONDecoder()
MALFORMED_PHRASE = "malformed tool call"
THINK_PHRASE = "think out loud"
SEQUENCE_PHRASE = "one at a time"
THINK_PREFIX = "Let me check that.\n"
RESULT_PREFIX = "Tool result received: "


@dataclass(frozen=True)
class SimTool:
    name: str
    schema: dict[str, Any]


def _parts(message: str) -> list[str]:
    return _PART_SPLIT_RE.split(message)


def tools_offered(message: str) -> tuple[list[SimTool], str] | None:
    """The tools and the ``tool_choice`` word of the message's tool block, if it has one."""
    first = _parts(message)[0]
    if not first.startswith(_SYSTEM_PREFIX):
        return None
    choice = _CHOICE_RE.search(first)
    tools: list[SimTool] = []
    name: str | None = None
    for line in first.splitlines():
        if line.startswith("Tool: "):
            name = line[len("Tool: ") :].strip()
        elif line.startswith("Parameters: ") and name:
            try:
                schema = json.loads(line[len("Parameters: ") :])
            except json.JSONDecodeError:
                schema = {}
            tools.append(SimTool(name, schema if isinstance(schema, dict) else {}))
            name = None
    if not tools or choice is None:
        return None
    return tools, choice.group(1)


def _example(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "sim"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}.get(
        kind, "sim"
    )


def schema_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments with a value for each ``required`` property of ``schema``."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    names = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
    return {name: _example(properties.get(name)) for name in names}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_block(calls: list[tuple[str, str]]) -> str:
    """``(name, parameters text)`` pairs as the multi-line ``<tool_calls>`` block."""
    lines = ["<tool_calls>"]
    for name, parameters in calls:
        lines += [
            "  <tool_call>",
            f"    <tool_name>{name}</tool_name>",
            f"    <parameters>{parameters}</parameters>",
            "  </tool_call>",
        ]
    lines.append("</tool_calls>")
    return "\n".join(lines)


def _triggers(user: str, tools: dict[str, SimTool]) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    for match in _TRIGGER_RE.finditer(user):
        name = match.group(1)
        if name not in tools:
            name = name.rstrip(".:-")  # "call get_weather." at the end of a sentence
            if name not in tools:
                continue
        after = match.start(1) + len(name)
        line_end = user.find("\n", after)
        line = user[after : len(user) if line_end < 0 else line_end]
        stripped = line.lstrip(" \t")
        arguments: Any = None
        if stripped.startswith("{"):
            try:
                arguments, _ = _DECODER.raw_decode(stripped)
            except json.JSONDecodeError:
                arguments = None
        if not isinstance(arguments, dict):
            arguments = schema_arguments(tools[name].schema)
        calls.append((name, _compact(arguments)))
    return calls


def _last_user_text(parts: list[str]) -> str:
    for part in reversed(parts):
        if part.startswith(_USER_PREFIX):
            return part[len(_USER_PREFIX) :]
    return ""


def _results_since_user(parts: list[str]) -> list[str]:
    """The tool results after the last ``[user]: `` part, in order."""
    out: list[str] = []
    for part in reversed(parts):
        if part.startswith(_USER_PREFIX):
            break
        result = _TOOL_RESULT_RE.match(part)
        if result is not None:
            out.append(part[result.end() :].strip())
    return out[::-1]


def tool_answer(message: str) -> str | None:
    """The answer to a message that offers tools, or ``None`` for the normal echo answer."""
    offered = tools_offered(message)
    if offered is None:
        return None
    tools, choice = offered
    parts = _parts(message)
    by_name = {tool.name: tool for tool in tools}
    user = _last_user_text(parts[1:])
    result = _TOOL_RESULT_RE.match(parts[-1])
    if SEQUENCE_PHRASE in user and choice != "none":
        done = _results_since_user(parts[1:])
        pending = _triggers(user, by_name)[len(done) :]
        if result is None or pending:
            return render_block(pending[:1]) if pending else None
        return RESULT_PREFIX + "; ".join(done)
    if result is not None:
        return RESULT_PREFIX + parts[-1][result.end() :].strip()
    if choice == "none":
        return None
    calls = _triggers(user, by_name)
    if not calls:
        if choice == "auto" and MALFORMED_PHRASE not in user:
            return None
        tool = by_name.get(choice, tools[0])  # "required" (or "auto" when malformed): the first
        calls = [(tool.name, _compact(schema_arguments(tool.schema)))]
    if MALFORMED_PHRASE in user:
        calls = [(calls[0][0], "{not json")]
    block = render_block(calls)
    return THINK_PREFIX + block if THINK_PHRASE in user else block
