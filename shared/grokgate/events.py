"""Internal stream events: what every upstream transport produces and every surface consumes.

An upstream client turns its wire protocol (grok.com NDJSON, later the WebSocket gateway and the
xAI API) into a sequence of these events; the OpenAI and Anthropic renderers turn the sequence
into their own chunks. Keeping this vocabulary small and neutral is what lets one surface run over
any transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the visible answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (shown as ``reasoning_content``)."""

    text: str


@dataclass(frozen=True, slots=True)
class SearchSource:
    url: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Sources:
    """Web sources the upstream consulted (deduplicated by the adapter)."""

    sources: tuple[SearchSource, ...]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for (parsed from its answer by the tool sieve).

    ``id`` is neutral (``call_<hex>``); each surface presents it in its own style. ``arguments``
    is the JSON text of an object, exactly as the client will receive it.
    """

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The answer is complete.

    ``reason`` is ``stop`` (the model ended), ``length`` (the client's output-token limit cut
    it) or ``tool_calls`` (the answer is one or more :class:`ToolCall` events).
    """

    reason: str = "stop"
    fingerprint: str | None = None
    full_text: str | None = None  # the upstream's own summary of the answer, when it sends one


@dataclass(slots=True)
class Served:
    """Emitted once, first, when an upstream accepted the request.

    ``account`` is the pool's public id of the account that serves (never a secret).
    """

    account: str
    transport: str
    attempts: int = 1
    extra: dict[str, str] = field(default_factory=dict)


Event = TextDelta | ReasoningDelta | Sources | ToolCall | Finish | Served
