"""Request bodies must be valid Unicode text.

JSON can spell a lone UTF-16 surrogate (``"\\ud800"``) and Python's ``json`` decodes it into a
``str`` that no UTF-8 encoder accepts: left in, it fails wherever the gateway encodes the text
(the upstream request, the answer, even the error that quotes it) as a 500. OpenAI, Anthropic
and pydantic's own JSON parser refuse such a body; so does grokgate, with a 400 naming the
parameter, before any route sees it. Paired surrogates (emoji escaped by ASCII-only encoders)
are decoded into one character by ``json`` and pass.

The same dependency bounds the shape of chat bodies before any translation (each over-limit
value is a 400 naming its parameter): at most :data:`MAX_MESSAGES` ``messages`` (or ``input``
items), :data:`MAX_PARTS` content parts per message (and ``system`` blocks),
:data:`MAX_TOOLS` ``tools`` (or ``functions``) of at most :data:`MAX_TOOL_BYTES` of JSON each.
A large body is checked in a worker thread, so the event loop keeps answering meanwhile.

Every ``/v1`` route is a :class:`JsonBodyRoute`: a body over
:data:`~grokgate.api.deps.OFF_LOOP_BYTES` is parsed once, in a worker thread, by
:func:`parse_body`. A worker thread alone does not free the loop (``json.loads`` holds the GIL
for its whole run, ~20 ms for 15 MB); pydantic-core's parser does the same work in ~4.5 ms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread
import pydantic_core
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from grokgate.api.deps import OFF_LOOP_BYTES, by_size
from grokgate.errors import InvalidRequestError

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Bytes without any of these cannot decode to a lone surrogate: a \uD800-\uDFFF escape, a raw
# (CESU-8) surrogate, or a NUL (a UTF-16/32 body, whose escapes this does not see)
MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")

MAX_MESSAGES = 2000
MAX_PARTS = 500
MAX_TOOLS = 256
MAX_TOOL_BYTES = 64 * 1024


def _bad(text: str) -> bool:
    return not text.isascii() and LONE_SURROGATE.search(text) is not None


def lone_surrogate_at(value: object) -> str | None:
    """Where (``messages[0].content``; ``""`` for the value itself) the first string holding a
    lone surrogate is in parsed JSON ``value``, or None. Iterative: any depth ``json`` parsed."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _bad(item):
                return path
        elif isinstance(item, dict):
            for key, sub in reversed(item.items()):
                if _bad(key):
                    return path
                stack.append((sub, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]") for i, sub in reversed(list(enumerate(item))))
    return None


def _too_many(param: str, count: int, limit: int, what: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Invalid value for '{param}': {count} {what}, the maximum is {limit}",
        param=param,
        code="too_many_items",
    )


def _check_parts(param: str, value: object) -> None:
    if isinstance(value, list) and len(value) > MAX_PARTS:
        raise _too_many(param, len(value), MAX_PARTS, "content parts")


def check_shape(data: object) -> None:
    """A 400 when a chat body (Chat Completions, Responses, Messages) is over a limit."""
    if not isinstance(data, dict):
        return
    for name in ("messages", "input"):
        items = data.get(name)
        if not isinstance(items, list):
            continue
        if len(items) > MAX_MESSAGES:
            raise _too_many(name, len(items), MAX_MESSAGES, "items")
        for i, item in enumerate(items):
            if isinstance(item, dict):
                _check_parts(f"{name}[{i}].content", item.get("content"))
    _check_parts("system", data.get("system"))
    for name in ("tools", "functions"):
        tools = data.get(name)
        if not isinstance(tools, list):
            continue
        if len(tools) > MAX_TOOLS:
            raise _too_many(name, len(tools), MAX_TOOLS, "tools")
        for i, tool in enumerate(tools):
            size = len(json.dumps(tool, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            if size > MAX_TOOL_BYTES:
                raise InvalidRequestError(
                    f"Invalid value for '{name}[{i}]': its definition is {size} bytes of JSON, "
                    f"the maximum is {MAX_TOOL_BYTES}",
                    param=f"{name}[{i}]",
                    code="tool_too_large",
                )


def maybe_surrogate(raw: bytes) -> bool:
    """Whether ``raw`` may spell a lone surrogate. Searched 1 MiB at a time: the regex engine
    holds the GIL, and one search of a 15 MB body would stall the event loop for ~30 ms even
    from a worker thread."""
    step, margin = 1 << 20, 6  # a match is at most 4 bytes long
    return any(
        MAYBE_SURROGATE.search(raw, start, start + step + margin)
        for start in range(0, len(raw), step)
    )


def check_body(raw: bytes, data: object) -> None:
    """Every check of a parsed JSON body (``raw`` its bytes): lone surrogates, then shape."""
    where = lone_surrogate_at(data) if maybe_surrogate(raw) else None
    if where is not None:
        raise InvalidRequestError(
            f"Invalid value for '{where or 'body'}': the text holds a lone UTF-16 surrogate "
            "(a \\ud800-\\udfff escape without its pair), which is not valid Unicode",
            param=where or None,
            code="invalid_unicode",
        )
    check_shape(data)


async def valid_json_text(request: Request) -> None:
    """A dependency of every API route: a JSON body with a lone surrogate is a 400.

    The body is parsed once: FastAPI's parse is cached on the request, and a route that reads
    JSON itself gets this parse back. A body that is not JSON is left to the route to report.
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        return
    raw = await request.body()
    if not raw.strip():
        return
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        return
    await by_size(len(raw), check_body, raw, data)


def parse_body(raw: bytes) -> Any:
    """``json.loads(raw)``, the same value or the same exception, parsed by pydantic-core.

    pydantic-core refuses what ``json`` accepts in a few corners (a BOM, UTF-16/32, a lone
    surrogate, nesting over 200 deep); for those, and for every error, ``json`` parses again,
    so the answer and the error's message and position are ``json``'s own."""
    try:
        return pydantic_core.from_json(raw)
    except ValueError:
        return json.loads(raw)


class JsonRequest(Request):
    """A request whose JSON body, when large, is parsed in a worker thread (once: cached)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            raw = await self.body()
            if len(raw) > OFF_LOOP_BYTES:
                self._json = await anyio.to_thread.run_sync(parse_body, raw)
            else:
                self._json = json.loads(raw)
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose handler (FastAPI's body parse, each dependency) gets a :class:`JsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(JsonRequest(request.scope, request.receive))

        return handle
