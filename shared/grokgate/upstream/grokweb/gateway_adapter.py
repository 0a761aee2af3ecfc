"""grok.com WebSocket gateway ("mgw") frames → internal events (docs/grok-protocol.md §5).

One :class:`GatewayAdapter` per answer, fed every server frame after the session was set up. It
produces the same events as the REST :class:`~grokgate.upstream.grokweb.adapter.FrameAdapter`
for the same answer. Text chunks are read by their channel (§5.5; the enum's
names on the wire, its numbers accepted too): ``CHANNEL_ASSISTANT_RESPONSE`` (1) is answer text,
``CHANNEL_ASSISTANT_THINKING`` (2) is reasoning, the notetaker channels (3, 4) are neither and
are dropped. A channel the enum does not name is reasoning when it contains ``ANALYSIS`` or
``REASONING`` (GO3's older reading) and dropped otherwise. Reasoning that arrives after the answer
text began stays reasoning (multi-step thinking), as do ``response.reasoning_text.delta`` events.
Tool usage cards become reasoning lines (before the answer only), ``render_citation`` chunks
become inline `` [[n]](url)`` citations and tool results become deduplicated :class:`Sources`.
``response.done`` ends the answer; error frames, in-band stream errors, ``session.ended`` and any
status but ``completed`` raise :class:`~grokgate.errors.UpstreamError` with a verdict (an
``error`` with code 7 and the anti-bot message is a challenge, not the account's fault).
"""

from __future__ import annotations

from typing import Any

from grokgate.errors import UpstreamError, UpstreamStreamError, Verdict
from grokgate.events import Event, Finish, ReasoningDelta, SearchSource, TextDelta
from grokgate.logs import clip
from grokgate.upstream.grokweb.adapter import (
    TOOL_NAMES,
    Citations,
    new_sources,
    tool_line,
    x_post_source,
)
from grokgate.upstream.grokweb.classify import account_verdict, classify_inband, parse_retry_after

ANSWER_CHANNEL = "CHANNEL_ASSISTANT_RESPONSE"
THINKING_CHANNEL = "CHANNEL_ASSISTANT_THINKING"
NOTETAKER_CHANNELS = ("CHANNEL_NOTETAKER_HEADER", "CHANNEL_NOTETAKER_SUMMARY")
CHANNELS: dict[int, str] = {
    1: ANSWER_CHANNEL,
    2: THINKING_CHANNEL,
    3: NOTETAKER_CHANNELS[0],
    4: NOTETAKER_CHANNELS[1],
}
_REASONING_MARKERS = ("ANALYSIS", "REASONING")
_GATEWAY_TOOLS = frozenset(TOOL_NAMES.values())
_MESSAGE_LIMIT = 300
# numeric (gRPC) error codes → the gateway's names; 7 is PERMISSION_DENIED, the anti-bot refusal
_CODE_NAMES = {"7": "anti_bot", "8": "rate_limited", "16": "unauthenticated"}
_ALIASES = {"permission_denied": "anti_bot", "resource_exhausted": "rate_limited"}


def channel_role(channel: Any) -> str | None:
    """``"answer"``, ``"reasoning"`` or None (not shown) for a text chunk's ``channel``: an enum
    name (any case) or its number (an int or a string of digits)."""
    if isinstance(channel, bool):
        return None
    if isinstance(channel, int):
        name = CHANNELS.get(channel)
    elif isinstance(channel, str):
        name = channel.strip().upper()
        if name.isdecimal() and len(name) < 10:  # what int() reads, and never a huge number
            name = CHANNELS.get(int(name))
    else:
        return None
    if not name or name in NOTETAKER_CHANNELS:
        return None
    if name == ANSWER_CHANNEL:
        return "answer"
    if name == THINKING_CHANNEL or any(m in name for m in _REASONING_MARKERS):
        return "reasoning"
    return None


def _error_code(value: Any) -> str:
    """An ``error.code`` as the gateway's snake-case name (``7``, ``"7"`` and
    ``"PERMISSION_DENIED"`` are ``anti_bot``); ``""`` when there is none."""
    if value is None or isinstance(value, bool):
        return ""
    code = str(value).strip().lower()
    return _CODE_NAMES.get(code) or _ALIASES.get(code) or code


def _tool_name(key: str) -> str | None:
    """The tool's display name for a card key (``web_search``; REST's ``webSearch`` too)."""
    if key in _GATEWAY_TOOLS:
        return key
    return TOOL_NAMES.get(key)


def _message(value: Any, default: str) -> str:
    return clip(str(value), _MESSAGE_LIMIT) if value else default


def gateway_error(error: Any) -> UpstreamError:
    """The error for an ``error`` event (``{"code": .., "message": ..}``) of the gateway."""
    err: dict[str, Any] = error if isinstance(error, dict) else {"message": str(error)}
    raw = err.get("code")
    code = _error_code(raw)
    shown = clip(str(raw).strip(), 40) if code else "no code"
    message = _message(err.get("message"), "unknown error")
    said = f"grok.com's gateway reported an error ({shown}): {message}"
    account = account_verdict(message)  # a block or dead credentials, whatever the code says
    if account is not None:
        return UpstreamStreamError(said, verdict=account)
    if code == "anti_bot" or "anti-bot" in message.lower():  # the connection, not the account
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
            case "response.reasoning_text.delta":
                delta = event.get("delta")
                if isinstance(delta, str):
                    self._reasoning(delta, out)
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
            role = channel_role(text.get("channel"))
            if role == "answer":
                self._answer(text["text"], out)
            elif role == "reasoning":  # also after the answer began (multi-step thinking)
                self._reasoning(text["text"], out)
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
