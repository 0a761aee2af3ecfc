"""Request fields grokgate does not implement and must not drop silently (issue 23, point 3).

The request models accept unknown fields (a field Anthropic adds later, a client's own). A field
that would change what the model sees — its history, its tools, server-side state — is refused
with a 400 naming it, since answering without it would be a wrong answer with a 200. A harmless
one (a hint, an id, a billing or routing option) passes. The README lists every decision.
"""

from __future__ import annotations

from typing import Any

from grokgate.errors import InvalidRequestError

# field → why answering without it would be wrong
REFUSED: dict[str, str] = {
    "container": "code execution containers (server-side state) are not supported",
    "context_management": (
        "context management (clearing tool results or thinking from the history) is not "
        "supported; send the history you want the model to see"
    ),
    "mcp_servers": "MCP servers (remote tools) are not supported; declare the tools yourself",
    "compaction": (
        "server-side compaction is not supported; send the history you want the model to see"
    ),
}
COUNT_ONLY_REFUSED: dict[str, str] = {
    "thread": "threads hold state for /v1/messages only; count the whole conversation",
}


def refuse_unsupported(body: dict[str, Any], *, counting: bool = False) -> None:
    """400 for the first field in ``body`` that grokgate would otherwise drop silently."""
    refused = {**REFUSED, **COUNT_ONLY_REFUSED} if counting else REFUSED
    for name, why in refused.items():
        if body.get(name) not in (None, [], {}):
            raise InvalidRequestError(f"{name}: {why}", param=name, code="unsupported_parameter")
    output = body.get("output_config")
    if isinstance(output, dict) and output.get("format") is not None:
        raise InvalidRequestError(
            "output_config.format: structured outputs are not supported; describe the format in "
            "the prompt",
            param="output_config.format",
            code="unsupported_parameter",
        )
