"""Frames of the simulator's WebSocket chat gateway (see :mod:`.gateway`): parsing a client's
``conversation.item.create`` and turning an :class:`.answers.Answer` into ``response.chunk``
payloads (thinking tokens on ``CHANNEL_ANALYSIS``, one ``tool_result`` with the search results,
final tokens on ``CHANNEL_ASSISTANT_RESPONSE`` with the render tag as a ``render_citation``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .answers import SEARCH_URLS, Answer

__all__ = [
    "ANSWER_CHANNEL",
    "REASONING_CHANNEL",
    "Message",
    "ProtocolViolation",
    "answer_chunks",
    "event_type",
    "parse_message",
]

ANSWER_CHANNEL = "CHANNEL_ASSISTANT_RESPONSE"
REASONING_CHANNEL = "CHANNEL_ANALYSIS"


class ProtocolViolation(Exception):
    """A protocol violation: ``error`` code ``invalid_argument`` with this message, then close."""


@dataclass(frozen=True)
class Message:
    prompt: str
    mentions: list[str]
    item_ids: list[str]
    event_ids: list[str]


def event_type(frame: Any) -> str | None:
    event = frame.get("event") if isinstance(frame, dict) else None
    kind = event.get("type") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


def _ids(holder: dict[str, Any], where: str) -> list[str]:
    ids = holder.get("file_attachment_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ProtocolViolation(
            f"conversation.item.create: {where}.file_attachment_ids must be file ids"
        )
    return ids


def parse_message(event: dict[str, Any]) -> Message:
    """The prompt and file ids of a ``conversation.item.create`` event (structure only)."""
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message" or item.get("role") != "user":
        raise ProtocolViolation(
            'conversation.item.create: item must be {"type":"message","role":"user"}'
        )
    x_grok = item.get("x_grok")
    chunks = x_grok.get("input_chunks") if isinstance(x_grok, dict) else None
    if not isinstance(chunks, list):
        raise ProtocolViolation("conversation.item.create: item.x_grok.input_chunks must be a list")
    texts: list[str] = []
    mentions: list[str] = []
    for i, chunk in enumerate(chunks):
        text = chunk.get("text") if isinstance(chunk, dict) else None
        mention = chunk.get("mention") if isinstance(chunk, dict) else None
        target = mention.get("target") if isinstance(mention, dict) else None
        file = target.get("file_mention") if isinstance(target, dict) else None
        file_id = file.get("file_id") if isinstance(file, dict) else None
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            texts.append(text["text"])
        elif isinstance(file_id, str):
            mentions.append(file_id)
        else:
            problem = f"input_chunks[{i}] is neither a text nor a file mention"
            raise ProtocolViolation(f"conversation.item.create: {problem}")
    if not texts:
        raise ProtocolViolation("conversation.item.create: no text chunk")
    if not "".join(texts):
        raise ProtocolViolation("conversation.item.create: empty prompt")
    return Message("".join(texts), mentions, _ids(item, "item"), _ids(event, "event"))


def answer_chunks(answer: Answer) -> Iterator[tuple[dict[str, Any], bool]]:
    """``response.chunk`` payloads of an answer, each with whether ``token_delay`` precedes it
    (text and citation chunks, i.e. what REST streams as token frames)."""
    for token in answer.thinking:
        yield {"text": {"text": token, "channel": REASONING_CHANNEL}}, True
    if answer.search is not None:
        pages = [
            {"url": r["url"], "title": r["title"], "snippet": r["preview"]} for r in answer.search
        ]
        tool_id = f"sim-search-{uuid.uuid4().hex[:12]}"
        yield {"tool_result": {"tool_call_id": tool_id, "web_search": {"webpages": pages}}}, False
    for i, token in enumerate(answer.final):
        if i == answer.card_token_index:
            citation = {
                "id": answer.card_id,
                "kind": "CITATION_KIND_WEB_PAGE",
                "url": SEARCH_URLS[0],
                "citation_id": "1",
            }
            yield {"render_citation": citation}, True
        else:
            yield {"text": {"text": token, "channel": ANSWER_CHANNEL}}, True
