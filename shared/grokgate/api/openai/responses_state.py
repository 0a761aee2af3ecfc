"""Server-side state of ``POST /v1/responses``: ``store``, ``previous_response_id``,
``conversation`` and ``item_reference`` (docs/stored-responses.md).

A stored response is one record of kind ``response`` whose body holds::

    {"response": <the response object>, "input": [<this request's input items>],
     "history": [<every item the model saw before this input>]}

so ``history + input + response.output`` is the whole context, and continuing from it
(``previous_response_id``) is one read. A conversation is one record of kind ``conversation``::

    {"conversation": <the conversation object>, "items": [<its items, oldest first>]}

Items are stored in the shapes ``GET …/input_items`` and ``GET /v1/conversations/{id}/items``
return (``openai.types.responses.ResponseItem``), each with an id from :mod:`.stored_ids`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from grokgate.api.openai import stored_ids
from grokgate.api.openai.responses_schemas import ResponsesRequest
from grokgate.errors import ConflictError, InvalidRequestError, NotFoundError
from grokgate.stores.conversations import ConversationStore, StoredRecord

__all__ = ["Turn", "conversation_ref", "prepare", "stored_item"]

StoreFactory = Callable[[], Awaitable[ConversationStore]]
UPDATE_ATTEMPTS = 8


def _shown(value: str) -> str:
    return value if len(value) <= 80 else value[:80] + "…"


def item_not_found(item_id: str, param: str = "input") -> NotFoundError:
    return NotFoundError(f"Item with id '{_shown(item_id)}' not found.", param=param)


def conversation_not_found(conv_id: str, param: str | None = None) -> NotFoundError:
    return NotFoundError(f"Conversation with id '{_shown(conv_id)}' not found.", param=param)


def stored_item(raw: dict[str, Any], item_id: str) -> dict[str, Any]:
    """An input item as stored and listed: its own id, a ``type``, parts for string content
    and a ``status``."""
    item = copy.deepcopy(raw)
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        item["type"] = "message"
        content = item.get("content")
        if isinstance(content, str):
            if item.get("role") == "assistant":
                item["content"] = [{"type": "output_text", "text": content, "annotations": []}]
            else:
                item["content"] = [{"type": "input_text", "text": content}]
    if kind in ("message", "function_call", "function_call_output"):
        item.setdefault("status", "completed")
    item["id"] = item_id
    return {"id": item.pop("id"), **item}


def _is_reference(raw: object) -> bool:
    if not isinstance(raw, dict):
        return False
    kind = raw.get("type")
    return kind == "item_reference" or (kind is None and "role" not in raw and "id" in raw)


def conversation_ref(value: Any) -> str | None:
    """``conversation``: an id string or ``{"id": ...}``."""
    if value is None:
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        return str(value["id"])
    raise InvalidRequestError(
        "conversation must be a conversation id or an object with an 'id'", param="conversation"
    )


def context_of(record: StoredRecord) -> list[dict[str, Any]]:
    """Everything a stored response's model saw, its own output included."""
    body = record.body
    output = (body.get("response") or {}).get("output") or []
    return [*body.get("history", []), *body.get("input", []), *output]


@dataclass
class _Known:
    """Items a request may reference, by item id and by call id; records already read."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)

    def add(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            if isinstance(item.get("id"), str):
                self.items.setdefault(item["id"], item)
            if item.get("type") == "function_call" and isinstance(item.get("call_id"), str):
                self.items.setdefault(item["call_id"], item)


@dataclass
class Turn:
    """One ``POST /v1/responses`` as the store sees it: what it continues, its input items
    (references resolved) and where its result goes."""

    hex: str
    keep: bool  # store the response (``store`` is not false)
    input: list[dict[str, Any]] | str | None  # what the model gets after ``history``
    history: list[dict[str, Any]] = field(default_factory=list)
    store: ConversationStore | None = None
    owner: str = ""
    ttl: float = 0.0
    previous_id: str | None = None
    conversation: StoredRecord | None = None

    @property
    def response_id(self) -> str:
        return stored_ids.response_id(self.hex)

    @property
    def first_output(self) -> int:
        """The number of the response's first output item (its input items come first)."""
        return len(self.input) if isinstance(self.input, list) else 1

    def model_input(self) -> list[dict[str, Any]] | str | None:
        """``input`` as the model must see it: the history, then this request's items."""
        if not self.history:
            return self.input
        if isinstance(self.input, list):
            return [*self.history, *self.input]
        if isinstance(self.input, str):
            return [*self.history, *self.input_items()]
        return self.history  # no usable input: to_messages names the problem

    def input_items(self) -> list[dict[str, Any]]:
        if isinstance(self.input, list):
            return [i for i in self.input if isinstance(i, dict)]
        if isinstance(self.input, str):
            raw = {"type": "message", "role": "user", "content": self.input}
            return [stored_item(raw, stored_ids.item_id("message", self.hex, 0))]
        return []

    async def finish(self, response: dict[str, Any]) -> None:
        """Keep the finished ``response`` (``store``) and append its items to the
        conversation; called before the client sees the final event."""
        if self.store is None:
            return
        if self.keep:
            now = self.store.clock()
            body = {"response": response, "input": self.input_items(), "history": self.history}
            record = StoredRecord(
                kind="response",
                id=self.response_id,
                owner=self.owner,
                created_at=now,
                expires_at=now + self.ttl,
                body=body,
            )
            await self.store.create(record)
        if self.conversation is not None:
            await append_items(
                self.store,
                self.conversation,
                self.input_items() + list(response["output"]),
                ttl=self.ttl,
            )


async def append_items(
    store: ConversationStore, record: StoredRecord, items: list[dict[str, Any]], *, ttl: float
) -> StoredRecord:
    """Append ``items`` to a conversation (optimistic: read again and retry on a conflict)."""
    for _ in range(UPDATE_ATTEMPTS):
        body = dict(record.body)
        body["items"] = [*body.get("items", []), *items]
        try:
            return await store.update(record, body=body, ttl=ttl)
        except ConflictError:
            fresh = await store.get("conversation", record.id, owner=record.owner)
            if fresh is None:
                raise conversation_not_found(record.id) from None
            record = fresh
    raise ConflictError(
        "the conversation is being changed by other requests; try again",
        code="conversation_busy",
    )


def _needs_store(body: ResponsesRequest) -> bool:
    refs = isinstance(body.input, list) and any(_is_reference(i) for i in body.input)
    return body.store is not False or bool(body.previous_response_id or body.conversation) or refs


async def prepare(body: ResponsesRequest, stores: StoreFactory, *, owner: str, ttl: float) -> Turn:
    """Read what ``body`` continues (one read per record) and resolve its references."""
    conv_id = conversation_ref(body.conversation)
    if body.previous_response_id and conv_id:
        raise InvalidRequestError(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param=None,
            code="mutually_exclusive_parameters",
        )
    turn = Turn(hex=stored_ids.new_hex(), keep=body.store is not False, input=body.input)
    if not _needs_store(body):
        turn.input = _items(turn, body.input)
        return turn
    store = turn.store = await stores()
    turn.owner, turn.ttl, known = owner, ttl, _Known()
    if body.previous_response_id:
        previous = await store.get("response", body.previous_response_id, owner=owner)
        if previous is None:
            raise InvalidRequestError(
                f"Previous response with id '{_shown(body.previous_response_id)}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        turn.previous_id = previous.id
        turn.history = context_of(previous)
        known.read.add(previous.id)
    elif conv_id:
        conversation = await store.get("conversation", conv_id, owner=owner)
        if conversation is None:
            raise conversation_not_found(conv_id, "conversation")
        turn.conversation = conversation
        turn.history = list(conversation.body.get("items", []))
        known.read.add(conversation.id)
    known.add(turn.history)
    if isinstance(body.input, list):
        await _resolve(body.input, store, owner, known)
        turn.input = _items(turn, body.input, known)
    else:
        turn.input = _items(turn, body.input)
    return turn


async def _resolve(raw: list[Any], store: ConversationStore, owner: str, known: _Known) -> None:
    """Read each record the references in ``raw`` point into (once each)."""
    for i, item in enumerate(raw):
        if not _is_reference(item):
            continue
        ref = item.get("id")
        if not isinstance(ref, str) or not ref:
            raise InvalidRequestError("item_reference needs an id", param=f"input[{i}].id")
        if ref in known.items:
            continue
        where = stored_ids.holder(ref)
        if where is None or where[1] in known.read:
            raise item_not_found(ref)
        kind, record_id = where
        known.read.add(record_id)
        record = await store.get(kind, record_id, owner=owner)
        if record is None:
            raise item_not_found(ref)
        if kind == "response":
            known.add(context_of(record))
        else:
            known.add(list(record.body.get("items", [])))
        if ref not in known.items:
            raise item_not_found(ref)


def _items(turn: Turn, value: Any, known: _Known | None = None) -> Any:
    """The request's input with ids given and references replaced by the items they name;
    anything malformed is left for the translator to refuse with its exact ``param``."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for n, raw in enumerate(value):
        if _is_reference(raw) and known is not None:
            out.append(copy.deepcopy(known.items[raw["id"]]))
        elif isinstance(raw, dict):
            kind = raw.get("type") or ("message" if "role" in raw else None)
            out.append(stored_item(raw, stored_ids.item_id(kind, turn.hex, n)))
        else:
            out.append(raw)
    return out
