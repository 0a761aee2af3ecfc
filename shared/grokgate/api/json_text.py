"""Request bodies must be valid Unicode text.

JSON can spell a lone UTF-16 surrogate (``"\\ud800"``) and Python's ``json`` decodes it into a
``str`` that no UTF-8 encoder accepts: left in, it fails wherever the gateway encodes the text
(the upstream request, the answer, even the error that quotes it) as a 500. OpenAI, Anthropic
and pydantic's own JSON parser refuse such a body; so does grokgate, with a 400 naming the
parameter, before any route sees it. Paired surrogates (emoji escaped by ASCII-only encoders)
are decoded into one character by ``json`` and pass.
"""

from __future__ import annotations

import re

from fastapi import Request

from grokgate.errors import InvalidRequestError

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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


async def valid_json_text(request: Request) -> None:
    """A dependency of every API route: a JSON body with a lone surrogate is a 400.

    The body is parsed once: FastAPI's parse is cached on the request, and a route that reads
    JSON itself gets this parse back. A body that is not JSON is left to the route to report.
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        return
    if not (await request.body()).strip():
        return
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        return
    where = lone_surrogate_at(data)
    if where is None:
        return
    raise InvalidRequestError(
        f"Invalid value for '{where or 'body'}': the text holds a lone UTF-16 surrogate "
        "(a \\ud800-\\udfff escape without its pair), which is not valid Unicode",
        param=where or None,
        code="invalid_unicode",
    )
