"""Helpers shared by the FrameAdapter tests."""

from __future__ import annotations

import json
from typing import Any

from grokgate.events import Finish, ReasoningDelta, TextDelta
from grokgate.upstream.grokweb.adapter import FrameAdapter


def resp(**fields: Any) -> dict[str, Any]:
    return {"result": {"response": fields}}


def think(token: str, **fields: Any) -> dict[str, Any]:
    return resp(token=token, isThinking=True, messageTag="header", **fields)


def final(token: str, **fields: Any) -> dict[str, Any]:
    return resp(token=token, isThinking=False, messageTag="final", **fields)


def card(card_id: str, **data: Any) -> dict[str, Any]:
    return resp(cardAttachment={"jsonData": json.dumps({"id": card_id, **data})})


def cite_card(card_id: str, url: str) -> dict[str, Any]:
    return card(card_id, type="render_inline_citation", cardType="citation_card", url=url)


def tag(card_id: str, kind: str = "render_inline_citation", n: int = 0) -> str:
    card_type = "citation_card" if kind == "render_inline_citation" else "image_card"
    return (
        f'<grok:render card_id="{card_id}" card_type="{card_type}" type="{kind}">\n'
        f'<argument name="citation_id">{n}</argument>\n</grok:render>'
    )


def feed_all(adapter: FrameAdapter, *frames: dict[str, Any]) -> list[Any]:
    return [event for frame in frames for event in adapter.feed(frame)]


def texts(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def reasoning(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, ReasoningDelta)]


def finishes(events: list[Any]) -> list[Finish]:
    return [e for e in events if isinstance(e, Finish)]


SOFT_STOP = resp(isSoftStop=True)
URL_A = "https://a.example/page"
URL_B = "https://b.example/doc?q=1"
