"""Stored Responses for xAI API models: grokgate resolves the state itself.

``previous_response_id``, ``conversation`` and ``item_reference`` are resolved from grokgate's own
store (:mod:`.responses_state`) and the xAI API gets the whole history in ``input`` with
``store: false``; the answer's ids are renamed to grokgate's (:mod:`.stored_ids`) and the response
is stored like a grok.com one. Why not forward ``previous_response_id``: the xAI API is used as a
stateless API (docs/xai-api.md §1), each request may go to another key of the pool (another xAI
account, which would not see the first one's responses), and a conversation may mix grok.com and
xAI models. A request that keeps no state is relayed byte for byte as before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from grokgate.api.deps import runtime_of
from grokgate.api.openai import stored_ids
from grokgate.api.openai.responses_state import Turn
from grokgate.api.relay import relay, relayed_events
from grokgate.api.sse import sse_response
from grokgate.api.streams import begin
from grokgate.core.registry import ModelSpec
from grokgate.events import Served
from grokgate.upstream.xai.client import XaiEvent

__all__ = ["Renamer", "relay_turn"]

PATH = "/v1/responses"
_STATE_FIELDS = ("previous_response_id", "conversation")
_FINAL = ("response.completed", "response.incomplete")


class Renamer:
    """Gives the items, call ids and the response of one xAI answer grokgate's ids."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.ids: dict[str, str] = {}
        self.calls: dict[str, str] = {}
        self.next = turn.first_output

    def _item(self, old: str, kind: str) -> tuple[str, int]:
        if old not in self.ids:
            self.ids[old] = stored_ids.item_id(kind, self.turn.hex, self.next)
            self.next += 1
        new = self.ids[old]
        return new, int(new.rsplit("_", 1)[1])

    def walk(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: self.walk(v) for k, v in value.items()}
        kind, old = out.get("type"), out.get("id")
        if out.get("object") == "response":
            turn = self.turn
            out["id"] = turn.response_id
            out["store"] = turn.keep
            out["previous_response_id"] = turn.previous_id
            if turn.conversation is not None:
                out["conversation"] = {"id": turn.conversation.id}
        elif isinstance(kind, str) and "." not in kind and isinstance(old, str):
            out["id"], n = self._item(old, kind)
            call = out.get("call_id")
            if kind == "function_call" and isinstance(call, str):
                self.calls.setdefault(call, stored_ids.call_id(self.turn.hex, n))
        if isinstance(out.get("item_id"), str):
            out["item_id"] = self.ids.get(out["item_id"], out["item_id"])
        if isinstance(out.get("call_id"), str) and kind != "function_call_output":
            out["call_id"] = self.calls.get(out["call_id"], out["call_id"])
        return out


def _upstream_input(turn: Turn) -> Any:
    """The whole history for the xAI API; reasoning items are left out (without their
    encrypted content, which grokgate never has, they are nothing the API can use)."""
    items = turn.model_input()
    if not isinstance(items, list):
        return items
    return [i for i in items if not (isinstance(i, dict) and i.get("type") == "reasoning")]


async def relay_turn(
    request: Request, spec: ModelSpec, raw: dict[str, Any], turn: Turn
) -> Response:
    """Serve a Responses request with an xAI model, resolving and storing state ourselves."""
    if turn.store is None:
        return await relay(request, spec, raw, "responses")
    body = {k: v for k, v in raw.items() if k not in _STATE_FIELDS}
    body["input"] = _upstream_input(turn)
    body["store"] = False
    if not turn.keep and turn.conversation is None:
        return await relay(request, spec, body, "responses")
    runtime = runtime_of(request)
    service = await runtime.relay_service()
    renamer = Renamer(turn)
    if not body.get("stream"):
        data, _ = await service.call(spec, PATH, body, {})
        answer = renamer.walk(json.loads(data))
        await turn.finish(answer)
        return JSONResponse(answer)
    started = await begin(service.stream(spec, PATH, body, {}))  # type: ignore[arg-type]
    return sse_response(
        relayed_events(_renamed(started, renamer), "responses", spec.id),  # type: ignore[arg-type]
        ping=runtime.settings.keepalive_seconds,
    )


async def _renamed(
    source: AsyncIterator[Served | XaiEvent], renamer: Renamer
) -> AsyncIterator[Served | XaiEvent]:
    async for event in source:
        if not isinstance(event, XaiEvent):
            yield event
            continue
        try:
            data = json.loads(event.data)
        except ValueError:
            yield event
            continue
        data = renamer.walk(data)
        if isinstance(data, dict) and data.get("type") in _FINAL:
            await renamer.turn.finish(data["response"])
        yield XaiEvent(json.dumps(data, ensure_ascii=False), event.event)
