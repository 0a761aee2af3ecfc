"""Framing of grok.com's streamed answers (docs/grok-protocol.md §4.1).

grok.com sends one JSON object per line with no prefix. The parser also accepts SSE-style
``data: {...}`` lines, skips ``event:``/``id:``/comment lines, stops at ``[DONE]``, and accepts
objects concatenated with no separator at all (the media streams do that), so it scans JSON
objects by brace depth rather than by line. Bytes may be split anywhere, even inside a UTF-8
sequence.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

_SKIP_PREFIXES = ("event:", "id:", "retry:", ":")


class FrameParser:
    """Incremental parser: :meth:`feed` text, get back the complete objects seen so far."""

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.done = False
        self.skipped = 0  # lines that were neither JSON nor known SSE syntax

    def feed_bytes(self, data: bytes) -> list[dict[str, Any]]:
        return self.feed(self._decoder.decode(data))

    def feed(self, text: str) -> list[dict[str, Any]]:
        if self.done:
            return []
        self._buf += text
        frames: list[dict[str, Any]] = []
        while not self.done:
            frame, consumed = self._next()
            if consumed == 0:
                break
            self._buf = self._buf[consumed:]
            if frame is not None:
                frames.append(frame)
        return frames

    def _next(self) -> tuple[dict[str, Any] | None, int]:
        buf = self._buf
        i = 0
        while i < len(buf) and buf[i] in " \t\r\n":
            i += 1
        if i == len(buf):
            return None, i
        if buf.startswith("data:", i):
            i += 5
            while i < len(buf) and buf[i] in " \t":
                i += 1
            if i == len(buf):
                return None, 0
        if buf[i] == "{":
            end = _object_end(buf, i)
            if end < 0:
                # grok.com sends one object per line: an object still open when a new line
                # starts with a frame was cut off, so drop it rather than every later frame.
                restart = _next_frame_line(buf, i)
                if restart < 0:
                    return None, 0
                self.skipped += 1
                return None, restart
            try:
                obj = json.loads(buf[i:end])
            except json.JSONDecodeError:
                self.skipped += 1
                return None, end
            return (obj if isinstance(obj, dict) else None), end
        newline = buf.find("\n", i)
        if newline < 0:
            if buf.startswith("[DONE]", i):
                self.done = True
                return None, len(buf)
            return None, 0
        line = buf[i:newline].strip()
        if line == "[DONE]":
            self.done = True
        elif not line.startswith(_SKIP_PREFIXES):
            self.skipped += 1
        return None, newline + 1


def _next_frame_line(buf: str, start: int) -> int:
    """Start of the first later line that begins a frame (``{`` or ``data:``), or -1.

    A raw newline cannot stand inside a JSON string, so such a line is never part of the
    object being scanned, unless that object is pretty-printed, where inner lines are indented.
    """
    positions = [p for p in (buf.find("\n{", start), buf.find("\ndata:", start)) if p >= 0]
    return min(positions) + 1 if positions else -1


def _object_end(buf: str, start: int) -> int:
    """Index just past the JSON object starting at ``start``, or -1 if it is incomplete."""
    depth = 0
    in_string = False
    escaped = False
    for j in range(start, len(buf)):
        ch = buf[j]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


def parse_all(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Every frame of a complete byte stream (tests and buffered callers)."""
    parser = FrameParser()
    for chunk in chunks:
        yield from parser.feed_bytes(chunk)
    yield from parser.feed("\n")


async def aiter_frames(chunks: AsyncIterable[bytes]) -> AsyncIterator[dict[str, Any]]:
    parser = FrameParser()
    async for chunk in chunks:
        for frame in parser.feed_bytes(chunk):
            yield frame
        if parser.done:
            return
    for frame in parser.feed("\n"):
        yield frame
