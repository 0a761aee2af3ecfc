"""Inline citations → ``url_citation`` annotations (docs/grok-protocol.md §4.4).

The grok.com adapter turns each ``<grok:render ... type="render_inline_citation">`` into a
markdown link `` [[n]](url)``. The surfaces that support annotations (Chat Completions,
Responses) find those links in the final text and describe each one with its character span and
the title the web search results gave the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_LINK = re.compile(r"\[\[(\d+)\]\]\((https?://[^)\s]+)\)")


@dataclass(frozen=True, slots=True)
class UrlCitation:
    start: int  # index of the link's first character in the text
    end: int  # index just past its last character
    url: str
    title: str


def find_citations(text: str, titles: Mapping[str, str]) -> list[UrlCitation]:
    """Every ``[[n]](url)`` link in ``text``; ``titles`` maps URLs to search-result titles."""
    return [
        UrlCitation(m.start(), m.end(), m.group(2), titles.get(m.group(2)) or m.group(2))
        for m in _LINK.finditer(text)
    ]
