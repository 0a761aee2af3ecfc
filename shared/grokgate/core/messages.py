"""The internal conversation model and its flattening into grok.com's single ``message``.

Every surface (Chat Completions now; Responses and Anthropic Messages later) converts its wire
messages into :class:`Message` objects; :func:`flatten` then renders the whole history into one
string per docs/grok-protocol.md §3.3, since grok.com takes one message per (temporary)
conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grokgate.core.attachments import FileInput
from grokgate.core.tools.xml import render_calls
from grokgate.errors import InvalidRequestError
from grokgate.events import ToolCall

__all__ = ["ROLES", "Message", "ToolCall", "flatten"]

ROLES = frozenset({"system", "user", "assistant", "tool"})
_SOURCES_MARKER = "## Sources\n[grokgate-sources]: #"


def without_sources_trailer(text: str) -> str:
    """``text`` without grokgate's own sources trailer: everything from the first marker on,
    and the line breaks before it. A search for the marker, not a pattern with a leading
    ``\\n*``: tried from every line break of a run, that pattern is quadratic in the run."""
    at = text.find(_SOURCES_MARKER)
    return text if at < 0 else text[:at].rstrip("\n")


@dataclass(slots=True)
class Message:
    role: str  # one of ROLES ("developer" is folded into "system" by the surfaces)
    texts: list[str] = field(default_factory=list)
    files: list[FileInput] = field(default_factory=list)  # uploaded, then attached by id
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None


def _parts(message: Message) -> list[str]:
    role = message.role
    if role not in ROLES:
        raise InvalidRequestError(f"unsupported message role {role!r}", param="messages")
    if role == "tool":
        label = (
            f"[tool result for {message.tool_call_id}]"
            if message.tool_call_id
            else ("[tool result]")
        )
        return [f"{label}:\n{chr(10).join(message.texts)}"]
    if role == "assistant":
        texts = [without_sources_trailer(t).strip() for t in message.texts]
        texts = [t for t in texts if t]
        if message.tool_calls:
            xml = render_calls(message.tool_calls)
            text = "\n".join(texts)
            return [f"[assistant]: {text}\n{xml}" if text else f"[assistant]:\n{xml}"]
        return [f"[assistant]: {t}" for t in texts]
    return [f"[{role}]: {t}" for t in message.texts if t.strip()]


def flatten(messages: list[Message], tool_prompt: str | None = None) -> str:
    """The single grok.com ``message`` for a conversation (docs/grok-protocol.md §3.3)."""
    if not messages:
        raise InvalidRequestError("messages must be a non-empty array", param="messages")
    parts: list[str] = []
    for message in messages:
        parts.extend(_parts(message))
    text = "\n\n".join(parts)
    if not text.strip():
        raise InvalidRequestError("messages contain no text", param="messages")
    if tool_prompt:
        text = f"[system]: {tool_prompt}\n\n{text}"
    return text
