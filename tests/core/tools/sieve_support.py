"""Helpers for the tool-sieve tests: a tool set, a runner over chunks, and answer builders."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import pairwise

from grokgate.core.tools.sieve import Output, ToolSieve
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet, ToolSpec
from grokgate.core.tools.xml import render_calls
from grokgate.events import TextDelta, ToolCall

WEATHER = ToolSpec(
    "get_weather",
    "Current weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
SEARCH = ToolSpec("search", "Web search", {"type": "object", "properties": {}})
TOOLS = ToolSet((WEATHER, SEARCH))
NAMED_SEARCH = ToolSet((WEATHER, SEARCH), ToolChoice(Choice.NAMED, "search"))


class Run:
    """Everything a sieve emitted for one answer fed in ``chunks``."""

    def __init__(self, chunks: Iterable[str], tools: ToolSet = TOOLS) -> None:
        self.sieve = ToolSieve(tools)
        self.batches: list[list[Output]] = [self.sieve.feed(chunk) for chunk in chunks]
        self.batches.append(self.sieve.finish())
        self.items = [item for batch in self.batches for item in batch]

    @property
    def text(self) -> str:
        return "".join(i.text for i in self.items if isinstance(i, TextDelta))

    @property
    def calls(self) -> list[tuple[str, object]]:
        return [(i.name, json.loads(i.arguments)) for i in self.items if isinstance(i, ToolCall)]


def split(text: str, cuts: Sequence[int]) -> list[str]:
    points = sorted({min(max(c, 0), len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in pairwise(points)]


def block(calls: Sequence[tuple[str, dict[str, object]]], *, compact: bool = False) -> str:
    rendered = render_calls(
        ToolCall(f"c{i}", name, json.dumps(args)) for i, (name, args) in enumerate(calls)
    )
    if compact:
        return "".join(line.lstrip(" ") for line in rendered.split("\n"))
    return rendered
