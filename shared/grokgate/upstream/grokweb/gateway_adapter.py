"""grok.com WebSocket gateway ("mgw") frames → internal events (research note §5; gateway
contract).

One :class:`GatewayAdapter` per answer, fed every server frame after the session was set up. It
produces the same events as the REST :class:`~grokgate.upstream.grokweb.adapter.FrameAdapter`
for the same answer: text chunks on ``CHANNEL_ASSISTANT_RESPONSE`` are answer text, chunks on an
``ANALYSIS`` / ``REASONING`` channel are reasoning (dropped once the answer began, as REST does),
tool usage cards become reasoning lines, ``render_citation`` chunks become inline
`` [[n]](url)`` citations and tool results become deduplicated :class:`Sources`. ``response.done``
ends the answer; error frames, in-band stream errors, ``session.ended`` and any status but
``completed`` raise :class:`~grokgate.errors.UpstreamError` with a verdict.
"""

from __future__ import annotations

from typing import Any

from grokgate.errors import UpstreamError, UpstreamStreamError, Verdict
from grokgate.events import Event, Finish, ReasoningDelta, SearchSource, TextDelta
from grokgate.upstream.grokweb.adapter import (
    TOOL_NAMES,
    Citations,
    new_sources,
    tool_line,
    x_post_source,
)
from grokgate.upstream.grokweb.classify import classify_inband, parse_retry_after

ANSWER_CHANNEL = "CHANNEL_ASSISTANT_RESPONSE"
_REASONING_MARKERS = ("ANALYSIS", "REASONING")
_GATEWAY_TOOLS = frozenset(TOOL_NAMES.values())
_MESSAGE_LIMIT = 300


def _tool_name(key: str) -> str | None:
    """The tool's display name for a card key (``web_search``; REST's ``webSearch`` too)."""
    if key in _GATEWAY_TOOLS:
        return key
    return TOOL_NAMES.get(key)


def _message(value: Any, default: str) -> str:
    return str(value)[:_MESSAGE_LIMIT] if value else default


def gateway_error(error: Any) -> UpstreamError:
    """The error for an ``error`` event (``{"code": .., "message": ..}``) of the gateway."""
    err: dict[str, Any] = error if isinstance(error, dict) else {"message": str(error)}
    code = str(err.get("code") or "")
    said = f"grok.com's gateway reported an error ({code or 'no code'}): " + _message(
        err.get("message"), "unknown error"
    )
    if code == "anti_bot":
        return UpstreamStreamError(said, verdict=Verdict.CHALLENGED, code="upstream_anti_bot")
    if code == "rate_limited":
        seconds = err.get("retry_after_seconds")
        retry_after = parse_retry_after(str(seconds)) if seconds is not None else None
        return UpstreamStreamError(said, verdict=Verdict.RATE_LIMITED, retry_after=retry_after)
    if code == "unauthenticated":
        return UpstreamStreamError(said, verdict=Verdict.EXPIRED)
    if code == "blocked":
        return UpstreamStreamError(said, verdict=Verdict.BLOCKED)
    if code == "model_not_available":
        return UpstreamStreamError(
            said, verdict=Verdict.MODE_UNAVAILABLE, code="upstream_mode_unavailable"
        )
    if code == "invalid_argument":  # grokgate sent something wrong: no account does better
        return UpstreamStreamError(said, verdict=Verdict.UNAVAILABLE, retryable=False)
    return UpstreamStreamError(said, verdict=Verdict.UNAVAILABLE)


def session_ended_error(event: dict[str, Any]) -> UpstreamStreamError:
    reason = _message(event.get("reason"), "no reason given")
    return UpstreamStreamError(
        f"grok.com's gateway ended the session before the answer was complete ({reason})"
    )


class GatewayAdapter:
    def __init__(self, *, show_reasoning: bool = True) -> None:
        self.show_reasoning = show_reasoning
        self.citations = Citations()
        self.sources: dict[str, SearchSource] = {}
        self.final_started = False
        self.finished = False

    # --- public ---------------------------------------------------------------------------

    def feed(self, frame: dict[str, Any]) -> list[Event]:
        """The events of one server frame ``{"session_id": .., "event": {..}}``; unknown and
        set-up events give none. Raises :class:`UpstreamError` for an error."""
        if self.finished:
            return []
        event = frame.get("event")
        if not isinstance(event, dict):
            return []
        out: list[Event] = []
        match event.get("type"):
            case "response.chunk":
                chunk = event.get("chunk")
                if isinstance(chunk, dict):
                    self._chunk(chunk, out)
            case "response.output_text.delta":
                delta = event.get("delta")
                if isinstance(delta, str):
                    self._answer(delta, out)
            case "response.output_text.done":
                text = event.get("text")
                if not self.final_started and isinstance(text, str) and text.strip():
                    self._answer(text, out)  # nothing was streamed: this is the answer
            case "response.search.result":
                result = event.get("result")
                if isinstance(result, dict) and result.get("url"):
                    found = [SearchSource(str(result["url"]), str(result.get("title") or ""))]
                    out.extend(new_sources(self.sources, found))
            case "response.grok.output":
                output = event.get("output")
                if isinstance(output, dict) and output.get("stream_error"):
                    raise classify_inband(output["stream_error"], nested=True)
            case "response.done":
                self._done(event)
                self.finished = True
                out.append(Finish(reason="stop"))
            case "error":
                raise gateway_error(event.get("error"))
            case "session.ended":
                raise session_ended_error(event)
        return out

    # --- events ---------------------------------------------------------------------------

    def _chunk(self, chunk: dict[str, Any], out: list[Event]) -> None:
        text = chunk.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            channel = str(text.get("channel") or "")
            if channel == ANSWER_CHANNEL:
                self._answer(text["text"], out)
            elif not self.final_started and any(m in channel for m in _REASONING_MARKERS):
                self._reasoning(text["text"], out)  # reasoning after the answer began: dropped
        card = chunk.get("tool_usage_card")
        if isinstance(card, dict) and not self.final_started:
            for key, value in card.items():
                name = _tool_name(key)
                if name is not None and isinstance(value, dict):
                    self._reasoning(tool_line(name, value.get("args")), out)
        result = chunk.get("tool_result")
        if isinstance(result, dict):
            out.extend(new_sources(self.sources, _result_sources(result)))
        citation = chunk.get("render_citation")
        if isinstance(citation, dict) and citation.get("url"):
            self._answer(self.citations.render(str(citation["url"])), out)

    def _done(self, event: dict[str, Any]) -> None:
        response = event.get("response")
        response = response if isinstance(response, dict) else {}
        status = response.get("status")
        if status == "completed":
            return
        details = response.get("status_details")
        detail = details.get("message") if isinstance(details, dict) else None
        said = f": {_message(detail, '')}" if detail else ""
        raise UpstreamStreamError(f"grok.com's gateway ended the answer as {status!r}{said}")

    # --- text -----------------------------------------------------------------------------

    def _answer(self, text: str, out: list[Event]) -> None:
        self.final_started = True
        if text:
            out.append(TextDelta(text))

    def _reasoning(self, text: str, out: list[Event]) -> None:
        if self.show_reasoning and text:
            out.append(ReasoningDelta(text))


def _result_sources(result: dict[str, Any]) -> list[SearchSource]:
    found: list[SearchSource] = []
    web = result.get("web_search")
    pages = web.get("webpages") if isinstance(web, dict) else None
    for page in pages if isinstance(pages, list) else []:
        if isinstance(page, dict) and page.get("url"):
            found.append(SearchSource(url=str(page["url"]), title=str(page.get("title") or "")))
    xs = result.get("x_post")
    posts = xs.get("posts") if isinstance(xs, dict) else None
    for post in posts if isinstance(posts, list) else []:
        if isinstance(post, dict) and post.get("post_id"):
            user = str(post.get("userhandle") or "")
            found.append(x_post_source(user, str(post["post_id"]), str(post.get("text") or "")))
    return found
