"""grok.com NDJSON frames → internal events (docs/grok-protocol.md §4.2–§4.6).

One :class:`FrameAdapter` per answer. It splits thinking from final text, turns server-side tool
cards into reasoning lines, replaces ``<grok:render>`` tags using the cards seen so far (inline
citations become ``[[n]](url)``), collects web sources, and detects the end of the answer and
in-band errors (raised as :class:`~grokgate.errors.UpstreamError`).

The pieces every grok.com chat transport renders the same way (tool lines, inline citation
numbers, deduplicated sources, X posts as sources) are the small helpers below, shared with the
WebSocket gateway's :mod:`~grokgate.upstream.grokweb.gateway_adapter`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from grokgate.events import Event, Finish, ReasoningDelta, SearchSource, Sources, TextDelta
from grokgate.upstream.grokweb.classify import classify_inband

_RENDER = re.compile(r"<grok:render\b([^>]*)>(.*?)</grok:render>", re.DOTALL)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_OPEN_TAG = "<grok:render"
_CLOSE_TAG = "</grok:render>"
TOOL_NAMES = {
    "webSearch": "web_search",
    "xSearch": "x_search",
    "xKeywordSearch": "x_keyword_search",
    "xSemanticSearch": "x_semantic_search",
    "browsePage": "browse_page",
    "searchImages": "search_images",
    "codeExecution": "code_execution",
}


# --- shared by the chat transports ------------------------------------------------------------


def tool_line(name: str, args: Any) -> str:
    """The reasoning line shown for a server-side tool call: ``🔍 web_search: <q>`` on a line
    of its own."""
    if not isinstance(args, dict):
        args = {}
    what = args.get("query") or args.get("url") or json.dumps(args, ensure_ascii=False)
    return f"\n🔍 {name}: {what}\n"


def x_post_source(user: str, post_id: str, text: str) -> SearchSource:
    """An X post as a source: ``https://x.com/<user>/status/<id>``, titled ``𝕏/@user: text``."""
    return SearchSource(
        url=f"https://x.com/{user or 'i'}/status/{post_id}", title=f"𝕏/@{user}: {text[:50]}"
    )


def new_sources(seen: dict[str, SearchSource], found: Iterable[SearchSource]) -> list[Event]:
    """A :class:`Sources` event with the sources of ``found`` not in ``seen`` (by url, which are
    then added to ``seen``); no event when nothing is new."""
    new: list[SearchSource] = []
    for source in found:
        if source.url not in seen:
            seen[source.url] = source
            new.append(source)
    return [Sources(tuple(new))] if new else []


class Citations:
    """Inline citations: urls numbered in order of first appearance; a citation identical to the
    previous one collapses."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._last: str | None = None

    def render(self, url: str) -> str:
        """`` [[n]](url)``, or ``""`` for a repeat of the previous citation."""
        if url == self._last:
            return ""  # consecutive duplicates collapse
        self._last = url
        if url not in self.urls:
            self.urls.append(url)
        return f" [[{self.urls.index(url) + 1}]]({url})"


class FrameAdapter:
    def __init__(self, *, show_reasoning: bool = True) -> None:
        self.show_reasoning = show_reasoning
        self.cards: dict[str, dict[str, Any]] = {}
        self.citations = Citations()
        self.sources: dict[str, SearchSource] = {}
        self.final_started = False
        self.finished = False
        self.fingerprint: str | None = None
        self._last_thinking: str | None = None
        self._rollout: str | None = None
        self._pending = ""  # final text held back while a <grok:render> tag may be open

    # --- public ---------------------------------------------------------------------------

    def feed(self, frame: dict[str, Any]) -> list[Event]:
        if self.finished:
            return []
        if "error" in frame and "result" not in frame:
            raise classify_inband(frame["error"], nested=False)
        result = frame.get("result")
        response = result.get("response") if isinstance(result, dict) else None
        if not isinstance(response, dict):
            return []
        out: list[Event] = []
        self._cache_cards(response)
        self._collect_sources(response, out)
        if isinstance(response.get("llmInfo"), dict):
            self.fingerprint = response["llmInfo"].get("modelHash") or self.fingerprint
        if response.get("error"):
            raise classify_inband(response["error"], nested=True)
        if response.get("messageTag") == "tool_usage_card":
            self._tool_card(response, out)
        elif response.get("messageTag") == "raw_function_result":
            pass
        elif isinstance(response.get("token"), str):
            self._token(response, out)
        if isinstance(response.get("modelResponse"), dict):
            self._model_response(response["modelResponse"], out)
        if response.get("isSoftStop") or "finalMetadata" in response:
            out.extend(self.finish())
        return out

    def finish(self) -> list[Event]:
        """Flush held-back text and emit :class:`Finish` (once)."""
        if self.finished:
            return []
        out: list[Event] = []
        if self._pending:
            text, self._pending = self._pending, ""
            opened = text.find(_OPEN_TAG)
            if opened >= 0 and text.find(_CLOSE_TAG, opened) < 0:
                text = text[:opened]  # an unfinished tag is markup, never answer text
            out.extend(self._final_text(text, True))
        self.finished = True
        out.append(Finish(reason="stop", fingerprint=self.fingerprint))
        return out

    # --- frames ---------------------------------------------------------------------------

    def _cache_cards(self, response: dict[str, Any]) -> None:
        raw_cards: list[Any] = []
        if "cardAttachment" in response:
            raw_cards.append(response["cardAttachment"])
        raw_cards.extend(response.get("cardAttachments") or [])
        for card in raw_cards:
            data = card.get("jsonData") if isinstance(card, dict) else None
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    continue
            if isinstance(data, dict) and data.get("id"):
                self.cards[str(data["id"])] = data

    def _collect_sources(self, response: dict[str, Any], out: list[Event]) -> None:
        found: list[SearchSource] = []
        web = response.get("webSearchResults")
        for item in (web.get("results") or []) if isinstance(web, dict) else []:
            if isinstance(item, dict) and item.get("url"):
                found.append(SearchSource(url=item["url"], title=str(item.get("title") or "")))
        xs = response.get("xSearchResults")
        for item in (xs.get("results") or []) if isinstance(xs, dict) else []:
            if isinstance(item, dict) and item.get("postId"):
                user = str(item.get("username") or "")
                found.append(x_post_source(user, str(item["postId"]), str(item.get("text", ""))))
        out.extend(new_sources(self.sources, found))

    def _tool_card(self, response: dict[str, Any], out: list[Event]) -> None:
        card = response.get("toolUsageCard")
        if self.final_started or not isinstance(card, dict):
            return
        for key, value in card.items():
            if key in TOOL_NAMES and isinstance(value, dict):
                self._reasoning(tool_line(TOOL_NAMES[key], value.get("args")), out)

    def _token(self, response: dict[str, Any], out: list[Event]) -> None:
        token: str = response["token"]
        tag = response.get("messageTag")
        if response.get("isThinking") is True:
            if self.final_started:
                return
            rollout = response.get("rolloutId")
            if rollout and self._rollout and rollout != self._rollout:
                self._reasoning(f"\n[{rollout}]\n", out)
            if rollout:
                self._rollout = rollout
            if token.startswith("- "):
                token = token[2:]
            if token == self._last_thinking:
                return
            self._last_thinking = token
            self._reasoning(token, out)
        elif tag == "final":
            self.final_started = True
            out.extend(self._final_text(token, False))

    def _model_response(self, summary: dict[str, Any], out: list[Event]) -> None:
        message = summary.get("message")
        if not self.final_started and isinstance(message, str) and message.strip():
            # Nothing was streamed: the summary is the whole answer (GO3 does the same).
            self.final_started = True
            out.extend(self._final_text(message, False))
        meta = summary.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("llm_info"), dict):
            self.fingerprint = meta["llm_info"].get("modelHash") or self.fingerprint

    # --- text -----------------------------------------------------------------------------

    def _reasoning(self, text: str, out: list[Event]) -> None:
        if self.show_reasoning and text:
            out.append(ReasoningDelta(text))

    def _final_text(self, token: str, flush: bool) -> list[Event]:
        text = self._pending + token
        self._pending = ""
        if not flush:
            cut = _unfinished_tag(text)
            if cut >= 0:
                text, self._pending = text[:cut], text[cut:]
        text = _RENDER.sub(self._render, text)
        return [TextDelta(text)] if text else []

    def _render(self, match: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(match.group(1)))
        card = self.cards.get(attrs.get("card_id", ""), {})
        kind = attrs.get("type") or card.get("type", "")
        if kind == "render_inline_citation" and card.get("url"):
            return self.citations.render(str(card["url"]))
        if kind == "render_searched_image" and isinstance(card.get("image"), dict):
            image = card["image"]
            thumb = image.get("thumbnail") or image.get("original") or ""
            return f"[![{image.get('title', '')}]({thumb})]({image.get('link') or thumb})"
        return ""


def _unfinished_tag(text: str) -> int:
    """Where to hold text back: an open ``<grok:render`` without its closing tag, or a trailing
    prefix of ``<grok:render`` that the next token may complete. -1 when nothing is open."""
    start = text.rfind(_OPEN_TAG)
    if start >= 0 and text.find(_CLOSE_TAG, start) < 0:
        return start
    for size in range(min(len(_OPEN_TAG) - 1, len(text)), 0, -1):
        if text.endswith(_OPEN_TAG[:size]):
            return len(text) - size
    return -1
