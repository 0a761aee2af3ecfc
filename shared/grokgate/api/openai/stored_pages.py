"""OpenAI's cursor pagination over stored items (``GET /v1/responses/{id}/input_items``,
``GET /v1/conversations/{id}/items``): ``after`` / ``before`` item ids, ``limit`` (1 to 100,
default 20) and ``order`` (``asc`` or ``desc``, default ``desc``); the page says ``has_more``,
``first_id`` and ``last_id``. The openai SDK asks for the next page with ``after`` set to the
last id it got."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Query

from grokgate.errors import InvalidRequestError, NotFoundError

__all__ = ["PageQuery", "page"]


class PageQuery:
    """The query parameters, checked (a 400 naming the parameter otherwise)."""

    def __init__(
        self,
        after: str | None = None,
        before: str | None = None,
        limit: int = Query(20),
        order: str = Query("desc"),
    ) -> None:
        if not 1 <= limit <= 100:
            raise InvalidRequestError("limit must be between 1 and 100", param="limit")
        if order not in ("asc", "desc"):
            raise InvalidRequestError("order must be 'asc' or 'desc'", param="order")
        self.after = after
        self.before = before
        self.limit = limit
        self.order: Literal["asc", "desc"] = "asc" if order == "asc" else "desc"


def _position(ids: list[Any], cursor: str, param: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise NotFoundError(f"Item with id '{cursor[:80]}' not found.", param=param) from None


def page(items: list[dict[str, Any]], query: PageQuery) -> dict[str, Any]:
    """One page of ``items`` (stored oldest first) as OpenAI's ``list`` object."""
    ordered = items if query.order == "asc" else items[::-1]
    ids = [item.get("id") for item in ordered]
    start, end = 0, len(ordered)
    if query.after:
        start = _position(ids, query.after, "after") + 1
    if query.before:
        end = _position(ids, query.before, "before")
    window = ordered[start:end]
    data = window[: query.limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0].get("id") if data else None,
        "last_id": data[-1].get("id") if data else None,
        "has_more": len(window) > len(data),
    }
