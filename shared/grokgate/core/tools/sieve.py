"""The tool sieve: plain text goes through, a ``<tool_calls>`` block becomes ToolCall events.

One :class:`ToolSieve` per answer (docs/grok-protocol.md §3.4). Text is released as soon as it
cannot be the start of a tool-call block; the only text held back is a tail that may still become
one:

* a proper prefix of ``<tool_calls>`` (``<``, ``<to``, ``<tool_ca`` ...), and
* a markdown fence that may introduce the block: ``` ` ```, ``` `` ```, ```` ``` ````, then
  an optional language (``xml``) and whitespace, possibly followed by such a prefix.

Once ``<tool_calls>`` has appeared, everything is buffered until ``</tool_calls>``. A block that
:func:`~grokgate.core.tools.xml.parse_calls` accepts becomes its calls and ends the answer (the
format allows nothing after it, so the closing fence and any further text are dropped). A
malformed block, one whose first element is not ``<tool_call>``, or one still open when the
answer ends, is released as ordinary text. The sieve never raises.
"""

from __future__ import annotations

import re

from grokgate.core.tools.spec import Choice, ToolSet
from grokgate.core.tools.xml import CALL_OPEN, CLOSE, OPEN, parse_calls
from grokgate.events import TextDelta, ToolCall
from grokgate.logs import get_logger

log = get_logger("tools")

Output = TextDelta | ToolCall
# A fence that may introduce the block, reaching the end of the text in front of ``<tool_calls>``.
_FENCE_END = re.compile(r"```[A-Za-z0-9_+-]*\s*\Z")
_PARTIAL_FENCE = re.compile(r"`{1,2}\Z")
_SPACE = re.compile(r"\s*")


def allowed_names(tools: ToolSet) -> frozenset[str]:
    """The tools an answer may call: only the named one for a named ``tool_choice``."""
    if tools.choice.kind is Choice.NAMED:
        return frozenset({tools.choice.name}) if tools.choice.name else frozenset()
    if tools.choice.kind is Choice.NONE:
        return frozenset()
    return tools.names


def _hold_from(text: str) -> int:
    """Where the tail that may still begin a (fenced) block starts; ``len(text)`` if none."""
    start = len(text)
    lt = text.rfind("<")
    if lt >= 0 and OPEN.startswith(text[lt:]):
        start = lt
    fence = _FENCE_END.search(text, 0, start)
    if fence is not None:
        return fence.start()
    if start == len(text):
        partial = _PARTIAL_FENCE.search(text)
        if partial is not None:
            return partial.start()
    return start


def _fence_start(text: str, open_at: int) -> int:
    """Start of the fence right in front of ``<tool_calls>`` at ``open_at`` (itself if none)."""
    fence = _FENCE_END.search(text, 0, open_at)
    return fence.start() if fence is not None else open_at


def _block_verdict(block: str) -> bool | None:
    """Whether a block's start shows a ``<tool_call>`` after ``<tool_calls>``; ``None``: unsure."""
    rest = block[_SPACE.match(block, len(OPEN)).end() :]  # type: ignore[union-attr]
    if len(rest) >= len(CALL_OPEN):
        return rest.startswith(CALL_OPEN)
    return None if CALL_OPEN.startswith(rest) else False


class ToolSieve:
    def __init__(self, tools: ToolSet) -> None:
        self._allowed = allowed_names(tools)
        self._held = ""  # normal mode: a tail that may begin a block
        self._fence = ""  # block mode: the fence in front of the block
        self._parts: list[str] | None = None  # block mode: the block, from ``<tool_calls>`` on
        self._tail = ""  # block mode: its last characters, where ``</tool_calls>`` may begin
        self._confirmed = False  # block mode: ``<tool_call>`` follows ``<tool_calls>``
        self._done = False  # a valid block was turned into calls
        self._dropped = 0  # characters after that block, dropped
        self._calls = 0

    @property
    def called(self) -> bool:
        """Whether any :class:`ToolCall` was emitted."""
        return self._calls > 0

    def feed(self, text: str) -> list[Output]:
        out: list[Output] = []
        try:
            self._feed(text, out)
        except Exception:  # pragma: no cover - a bug; degrade to text rather than fail
            log.exception("tool sieve failed; releasing the answer as text")
            self._release_all(out)
        return _merged(out)

    def finish(self) -> list[Output]:
        """The answer ended: release what is held (an unclosed block is text)."""
        out: list[Output] = []
        if self._done:
            if self._dropped:
                log.debug("dropped %d characters after the tool calls", self._dropped)
            self._dropped = 0
            return out
        self._release_all(out)
        return _merged(out)

    # internals ----------------------------------------------------------------------------
    def _feed(self, text: str, out: list[Output]) -> None:
        if self._done:
            self._drop(text)
            return
        block = self._scan(self._held + text, out) if self._parts is None else text
        while block is not None:  # after a block that was text, scan what followed it
            again = self._grow(block, out)
            block = None if again is None else self._scan(again, out)

    def _scan(self, text: str, out: list[Output]) -> str | None:
        """Normal mode over ``text`` (the held tail included): release it and hold a possible
        block start; when a block opens, return the text from ``<tool_calls>`` on."""
        open_at = text.find(OPEN)
        if open_at < 0:
            cut = _hold_from(text)
            _text(out, text[:cut])
            self._held = text[cut:]
            return None
        start = _fence_start(text, open_at)
        _text(out, text[:start])
        self._held = ""
        self._fence = text[start:open_at]
        self._parts, self._tail, self._confirmed = [], "", False
        return text[open_at:]

    def _grow(self, text: str, out: list[Output]) -> str | None:
        """Block mode: add ``text``. Returns the text to scan again in normal mode when the
        block turned out to be text; ``None`` while it is open or once it became calls."""
        parts = self._parts
        assert parts is not None
        parts.append(text)
        if not self._confirmed:
            block = "".join(parts)
            parts[:] = [block]
            verdict = _block_verdict(block)
            if verdict is False:  # prose that mentions the tag: it is text
                self._parts = None
                _text(out, self._fence + OPEN)
                return block[len(OPEN) :]
            self._confirmed = bool(verdict)
        window = self._tail + text
        close_at = window.find(CLOSE)
        if close_at < 0:
            self._tail = window[-(len(CLOSE) - 1) :]
            return None
        block = "".join(parts)
        end = len(block) - len(window) + close_at + len(CLOSE)
        self._parts = None
        calls = parse_calls(block[:end], self._allowed)
        if calls is None:
            log.debug("malformed tool-call block (%d characters) released as text", end)
            _text(out, self._fence + block[:end])
            return block[end:]
        out.extend(calls)
        self._calls += len(calls)
        self._done = True
        self._drop(block[end:])
        return None

    def _drop(self, text: str) -> None:
        self._dropped += len(text.strip().strip("`").strip())

    def _release_all(self, out: list[Output]) -> None:
        if self._parts is not None:
            _text(out, self._fence + "".join(self._parts))
        _text(out, self._held)
        self._parts = None
        self._fence = self._held = ""


def _text(out: list[Output], text: str) -> None:
    if text:
        out.append(TextDelta(text))


def _merged(out: list[Output]) -> list[Output]:
    merged: list[Output] = []
    for item in out:
        last = merged[-1] if merged else None
        if isinstance(item, TextDelta) and isinstance(last, TextDelta):
            merged[-1] = TextDelta(last.text + item.text)
        else:
            merged.append(item)
    return merged
