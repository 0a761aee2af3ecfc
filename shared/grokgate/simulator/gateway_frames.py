"""Frames of the simulator's WebSocket chat gateway (see :mod:`.gateway`): parsing a client's
``conversation.item.create`` and turning an :class:`.answers.Answer` into server events
(docs/grok-protocol.md §5.4, §5.5): ``response.chunk`` events with the thinking tokens on
``CHANNEL_ASSISTANT_THINKING``, one ``tool_result`` with the search results, and the final tokens
on ``CHANNEL_ASSISTANT_RESPONSE`` with the render tag as a ``render_citation``.

``SimState.gateway_variants`` (:data:`GATEWAY_VARIANTS`) changes the shape, as other builds of
grok.com send it: ``notetaker`` adds a ``CHANNEL_NOTETAKER_HEADER`` chunk first and a
``CHANNEL_NOTETAKER_SUMMARY`` chunk after the final tokens (neither is answer nor reasoning);
``late_reasoning`` adds :data:`LATE_THINKING` as reasoning right after the first final token (a
mode that thinks only); ``reasoning_text`` sends every reasoning token as a
``response.reasoning_text.delta`` event ``{"delta"}`` instead of a chunk; ``antibot_code7`` makes
the ``403_antibot`` turn fault's ``error`` event carry the numeric code ``7`` (with the anti-bot
message) instead of ``"anti_bot"``.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from .answers import SEARCH_URLS, Answer

__all__ = [
    "ANSWER_CHANNEL",
    "GATEWAY_VARIANTS",
    "LATE_THINKING",
    "NOTETAKER_CHANNELS",
    "NOTETAKER_TEXTS",
    "THINKING_CHANNEL",
    "Message",
    "ProtocolViolation",
    "answer_events",
    "event_type",
    "parse_message",
]

ANSWER_CHANNEL = "CHANNEL_ASSISTANT_RESPONSE"  # 1
THINKING_CHANNEL = "CHANNEL_ASSISTANT_THINKING"  # 2
NOTETAKER_CHANNELS = ("CHANNEL_NOTETAKER_HEADER", "CHANNEL_NOTETAKER_SUMMARY")  # 3, 4
NOTETAKER_TEXTS = ("Notes on this chat", "The user asked for an echo of their message.")
LATE_THINKING = "Checking the answer once more."
GATEWAY_VARIANTS = frozenset({"notetaker", "late_reasoning", "reasoning_text", "antibot_code7"})


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


def answer_events(
    answer: Answer, response_id: str, variants: Collection[str] = ()
) -> Iterator[tuple[dict[str, Any], bool]]:
    """The server events of an answer (see the module docstring for ``variants``), each with
    whether ``token_delay`` precedes it (text, reasoning and citation events, i.e. what REST
    streams as token frames)."""

    def chunk(payload: dict[str, Any]) -> dict[str, Any]:
        return {"type": "response.chunk", "response_id": response_id, "chunk": payload}

    def text(token: str, channel: str) -> dict[str, Any]:
        return chunk({"text": {"text": token, "channel": channel}})

    def thinking(token: str) -> dict[str, Any]:
        if "reasoning_text" in variants:
            return {"type": "response.reasoning_text.delta", "delta": token}
        return text(token, THINKING_CHANNEL)

    if "notetaker" in variants:
        yield text(NOTETAKER_TEXTS[0], NOTETAKER_CHANNELS[0]), True
    for token in answer.thinking:
        yield thinking(token), True
    if answer.search is not None:
        pages = [
            {"url": r["url"], "title": r["title"], "snippet": r["preview"]} for r in answer.search
        ]
        tool_id = f"sim-search-{uuid.uuid4().hex[:12]}"
        yield (
            chunk({"tool_result": {"tool_call_id": tool_id, "web_search": {"webpages": pages}}}),
            False,
        )
    late = "late_reasoning" in variants and bool(answer.thinking)
    for i, token in enumerate(answer.final):
        if i == answer.card_token_index:
            citation = {
                "id": answer.card_id,
                "kind": "CITATION_KIND_WEB_PAGE",
                "url": SEARCH_URLS[0],
                "citation_id": "1",
            }
            yield chunk({"render_citation": citation}), True
        else:
            yield text(token, ANSWER_CHANNEL), True
        if late and i == 0:
            yield thinking(LATE_THINKING), True
    if "notetaker" in variants:
        yield text(NOTETAKER_TEXTS[1], NOTETAKER_CHANNELS[1]), True
