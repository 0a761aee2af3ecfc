"""The ``<tool_calls>`` text format of docs/grok-protocol.md §3.4.

:func:`render_calls` writes calls back into a flattened history (an assistant turn that called
tools). Parsing answers lives here too (:func:`parse_calls`), so the format is defined once.

The parser is a small scanner, not an XML library: the answer is untrusted model output, so no
entity expansion, no DTDs, and only the three elements of the format are understood.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from grokgate.events import ToolCall

OPEN = "<tool_calls>"
CLOSE = "</tool_calls>"
CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
_NAME_OPEN, _NAME_CLOSE = "<tool_name>", "</tool_name>"
_PARAMS_OPEN, _PARAMS_CLOSE = "<parameters>", "</parameters>"
_PARAMS_EMPTY = "<parameters/>"
_CDATA_OPEN, _CDATA_CLOSE = "<![CDATA[", "]]>"
_WS = re.compile(r"\s*")
# The five predefined XML entities; tried only when the raw parameters are not JSON.
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}
_ENTITY_RE = re.compile("|".join(map(re.escape, _ENTITIES)))


def compact_json(arguments: str) -> str:
    """Arguments as single-line JSON; text that is not JSON is kept as it is."""
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return arguments
    return json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))


def render_calls(calls: Iterable[ToolCall]) -> str:
    lines = [OPEN]
    for call in calls:
        lines += [
            "  <tool_call>",
            f"    <tool_name>{call.name}</tool_name>",
            f"    <parameters>{compact_json(call.arguments)}</parameters>",
            "  </tool_call>",
        ]
    lines.append(CLOSE)
    return "\n".join(lines)


def new_call_id() -> str:
    """A fresh neutral id: ``call_`` and 24 lowercase hex digits."""
    return "call_" + uuid.uuid4().hex[:24]


class _Malformed(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity would not survive json.dumps


def _arguments(raw: str) -> str:
    """Parameters text as compact JSON of an object; ``{}`` when empty."""
    text = raw.strip()
    if text.startswith(_CDATA_OPEN) and text.endswith(_CDATA_CLOSE):
        text = text[len(_CDATA_OPEN) : -len(_CDATA_CLOSE)].strip()
    if not text:
        return "{}"
    candidates = [text]
    if "&" in text:
        candidates.append(_ENTITY_RE.sub(lambda m: _ENTITIES[m.group()], text))
    for candidate in candidates:
        try:
            value = json.loads(candidate, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        raise _Malformed
    raise _Malformed


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_ws(self) -> None:
        match = _WS.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def take(self, literal: str) -> bool:
        """Skip whitespace, then consume ``literal`` if it comes next."""
        self.skip_ws()
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def until(self, literal: str) -> str:
        end = self.text.find(literal, self.pos)
        if end < 0:
            raise _Malformed
        content = self.text[self.pos : end]
        self.pos = end + len(literal)
        return content

    def parameters(self) -> str:
        """After ``<parameters>``: the arguments, up to the matching ``</parameters>``.

        A JSON string may itself contain ``</parameters>``, so every closing tag is tried in
        turn until the content in front of it is a JSON object.
        """
        self.skip_ws()
        if self.text.startswith(_CDATA_OPEN, self.pos):
            end = self.text.find(_CDATA_CLOSE, self.pos)
            if end < 0:
                raise _Malformed
            content = self.text[self.pos : end + len(_CDATA_CLOSE)]
            self.pos = end + len(_CDATA_CLOSE)
            if not self.take(_PARAMS_CLOSE):
                raise _Malformed
            return _arguments(content)
        end = self.text.find(_PARAMS_CLOSE, self.pos)
        while end >= 0:
            try:
                arguments = _arguments(self.text[self.pos : end])
            except _Malformed:
                end = self.text.find(_PARAMS_CLOSE, end + 1)
                continue
            self.pos = end + len(_PARAMS_CLOSE)
            return arguments
        raise _Malformed

    def call(self, allowed: frozenset[str]) -> ToolCall:
        """After ``<tool_call>``: its two children (any order), then ``</tool_call>``."""
        name: str | None = None
        arguments: str | None = None
        while not self.take(CALL_CLOSE):
            if name is None and self.take(_NAME_OPEN):
                name = self.until(_NAME_CLOSE).strip()
                if name.startswith(_CDATA_OPEN) and name.endswith(_CDATA_CLOSE):
                    name = name[len(_CDATA_OPEN) : -len(_CDATA_CLOSE)].strip()
            elif arguments is None and self.take(_PARAMS_OPEN):
                arguments = self.parameters()
            elif arguments is None and self.take(_PARAMS_EMPTY):
                arguments = "{}"
            else:  # text, an unknown or repeated element, or the end of the block
                raise _Malformed
        if name is None or name not in allowed:
            raise _Malformed
        return ToolCall(id=new_call_id(), name=name, arguments=arguments or "{}")


def parse_calls(block: str, allowed: frozenset[str]) -> list[ToolCall] | None:
    """The calls of one ``<tool_calls>...</tool_calls>`` block, or ``None`` if it is malformed.

    Whitespace between elements, CDATA around the values and an empty ``<parameters>`` are
    accepted; arguments come back as compact JSON. Anything else (text or unknown elements
    between the tags, a name outside ``allowed``, parameters that are not a JSON object, no
    ``<tool_call>`` at all) makes the whole block malformed, so the caller shows it as text.
    """
    scanner = _Scanner(block)
    calls: list[ToolCall] = []
    try:
        if not scanner.take(OPEN):
            return None
        while not scanner.take(CLOSE):
            if not scanner.take(CALL_OPEN):
                return None
            calls.append(scanner.call(allowed))
        scanner.skip_ws()
    except _Malformed:
        return None
    if not calls or scanner.pos != len(block):
        return None
    return calls
