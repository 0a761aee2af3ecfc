"""The ids grokgate hands out for stored Responses and Conversations (docs/stored-responses.md).

Every id names the record that holds it, so resolving it is one store read, with no index:

- a response is ``resp_<h>``, a conversation ``conv_<h>`` (``<h>``: 32 lowercase hex digits);
- an item of response ``resp_<h>`` is ``<prefix>_<h>_<n>`` and a call id in it
  ``call_<h>_<n>``, where ``n`` numbers the response's items (its input items first, then its
  output items);
- an item added straight to conversation ``conv_<h>`` (``POST /v1/conversations[/{id}/items]``)
  is ``<prefix>_<h>_c<n>``.

The prefix follows the item's type (``msg_``, ``fc_``, ``fco_``, ``rs_``, else ``item_``).
"""

from __future__ import annotations

import re
import uuid
from typing import Literal

__all__ = [
    "call_id",
    "conversation_id",
    "holder",
    "item_id",
    "new_hex",
    "response_id",
]

PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
}
_HELD = re.compile(r"(?:msg|fc|fco|rs|item|call)_([0-9a-f]{32})_(c?)\d{1,6}")
_RECORD = re.compile(r"(resp|conv)_([0-9a-f]{32})")


def new_hex() -> str:
    return uuid.uuid4().hex


def response_id(hex_: str) -> str:
    return f"resp_{hex_}"


def conversation_id(hex_: str) -> str:
    return f"conv_{hex_}"


def item_id(item_type: object, hex_: str, n: int, *, in_conversation: bool = False) -> str:
    prefix = PREFIXES.get(item_type, "item") if isinstance(item_type, str) else "item"
    return f"{prefix}_{hex_}_{'c' if in_conversation else ''}{n}"


def call_id(hex_: str, n: int) -> str:
    return f"call_{hex_}_{n}"


def holder(held_id: str) -> tuple[Literal["response", "conversation"], str] | None:
    """The record that holds an item or call id we handed out; None for any other id."""
    found = _HELD.fullmatch(held_id) if isinstance(held_id, str) else None
    if found is None:
        return None
    if found.group(2):
        return "conversation", conversation_id(found.group(1))
    return "response", response_id(found.group(1))


def record_hex(record_id: str, kind: Literal["resp", "conv"]) -> str | None:
    """The hex of ``resp_<h>`` / ``conv_<h>``; None when the id is not of that form."""
    found = _RECORD.fullmatch(record_id) if isinstance(record_id, str) else None
    if found is None or found.group(1) != kind:
        return None
    return found.group(2)
