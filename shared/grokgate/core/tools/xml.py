"""The ``<tool_calls>`` text format of research note §3.5.

:func:`render_calls` writes calls back into a flattened history (an assistant turn that called
tools). Parsing answers lives here too (:func:`parse_calls`), so the format is defined once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from grokgate.events import ToolCall

OPEN = "<tool_calls>"
CLOSE = "</tool_calls>"


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
