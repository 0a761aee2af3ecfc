"""The tool instruction block put in front of the conversation (docs/grok-protocol.md §3.4).

grok.com has no function-calling API, so the tools are described in text and the model is told
to answer with exactly one ``<tool_calls>`` block when it wants to call them.
"""

from __future__ import annotations

import json

from grokgate.core.tools.spec import Choice, ToolSet

HEADER = "You can call the following tools (functions) to help answer the conversation."
FORMAT = (
    "To call tools, reply with ONLY this XML and nothing else: no code fences, no text before "
    "or after it.\n"
    "<tool_calls>\n"
    "  <tool_call>\n"
    "    <tool_name>NAME</tool_name>\n"
    "    <parameters>{single-line JSON object with the arguments}</parameters>\n"
    "  </tool_call>\n"
    "</tool_calls>\n"
    "Put several <tool_call> elements in the block to call several tools at once. The "
    "parameters must be valid JSON that follows the tool's parameter schema. Results come "
    "back in later messages as [tool result for <id>]."
)
_CHOICE = {
    Choice.AUTO: "tool_choice: auto. Call tools only when they help; otherwise answer normally.",
    Choice.NONE: "tool_choice: none. Do NOT call any tool now; answer in plain text.",
    Choice.REQUIRED: "tool_choice: required. You MUST answer with a <tool_calls> block now.",
}


def describe(tools: ToolSet) -> str:
    lines: list[str] = []
    for tool in tools.tools:
        schema = json.dumps(
            tool.parameters or {"type": "object", "properties": {}},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        lines.append(f"Tool: {tool.name}")
        if tool.description:
            lines.append(f"Description: {tool.description}")
        lines.append(f"Parameters: {schema}")
        lines.append("")
    return "\n".join(lines).rstrip()


def choice_line(tools: ToolSet) -> str:
    choice = tools.choice
    if choice.kind is Choice.NAMED:
        return (
            f"tool_choice: {choice.name}. You MUST answer with a <tool_calls> block that calls "
            f"the tool {choice.name} now, and no other tool."
        )
    return _CHOICE[choice.kind]


def tool_prompt(tools: ToolSet) -> str:
    """The whole block; :func:`grokgate.core.messages.flatten` prefixes it with ``[system]:``."""
    return f"{HEADER}\n\n{describe(tools)}\n\n{FORMAT}\n\n{choice_line(tools)}"
