"""OpenAI's Conversations API on grokgate's conversation store (docs/stored-responses.md).

``POST /v1/conversations`` (``items``, ``metadata``), ``GET``/``POST`` (new ``metadata``)/
``DELETE /v1/conversations/{id}``, ``GET``/``POST /v1/conversations/{id}/items`` and
``GET``/``DELETE /v1/conversations/{id}/items/{item_id}``, in the openai SDK's shapes
(``openai.types.conversations``). A response created with ``conversation`` appends its input and
output items (:mod:`.responses_state`). A conversation is visible only to the API key that made
it and kept for ``GROKGATE_RESPONSES_TTL`` seconds after its last change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from grokgate.api.deps import owner_of, runtime_of
from grokgate.api.openai import stored_ids
from grokgate.api.openai.responses_state import (
    UPDATE_ATTEMPTS,
    conversation_not_found,
    item_not_found,
    stored_item,
)
from grokgate.api.openai.responses_translate import to_messages
from grokgate.api.openai.schemas import ErrorOut
from grokgate.api.openai.stored_pages import PageQuery, page
from grokgate.api.routing import v1_router
from grokgate.errors import ConflictError, InvalidRequestError
from grokgate.stores.conversations import ConversationStore, StoredRecord

_ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 404, 409, 503)}
MAX_NEW_ITEMS = 20
MAX_METADATA = 16

router = v1_router()


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    items: list[Any] | None = None
    metadata: dict[str, str] | None = None


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")
    metadata: dict[str, str] | None


class ItemsCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    items: list[Any]


def _metadata(value: dict[str, str] | None) -> dict[str, str]:
    value = value or {}
    if len(value) > MAX_METADATA:
        raise InvalidRequestError("metadata may have at most 16 keys", param="metadata")
    for key, text in value.items():
        if len(key) > 64 or len(text) > 512:
            raise InvalidRequestError(
                "metadata keys are at most 64 characters and values at most 512",
                param=f"metadata.{key[:64]}",
            )
    return value


def _new_items(raw: list[Any], hex_: str, first: int) -> list[dict[str, Any]]:
    """Checked items (as a response's input would be) with conversation item ids."""
    if len(raw) > MAX_NEW_ITEMS:
        raise InvalidRequestError("at most 20 items can be added at a time", param="items")
    if raw:
        try:
            to_messages(raw)
        except InvalidRequestError as exc:
            if exc.param and exc.param.startswith("input"):
                exc.param = "items" + exc.param.removeprefix("input")
            raise
    out = []
    for n, item in enumerate(raw):
        kind = item.get("type") or ("message" if "role" in item else None)
        new_id = stored_ids.item_id(kind, hex_, first + n, in_conversation=True)
        out.append(stored_item(item, new_id))
    return out


async def _store(request: Request) -> tuple[ConversationStore, str, float]:
    runtime = runtime_of(request)
    store = await runtime.conversation_store()
    return store, owner_of(request), runtime.settings.responses_ttl_seconds


async def _read(store: ConversationStore, conv_id: str, owner: str) -> StoredRecord:
    record = await store.get("conversation", conv_id, owner=owner)
    if record is None:
        raise conversation_not_found(conv_id)
    return record


async def _change(
    store: ConversationStore,
    record: StoredRecord,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    ttl: float,
) -> StoredRecord:
    """Apply ``change`` to the body and write it (read again and retry on a conflict)."""
    for _ in range(UPDATE_ATTEMPTS):
        try:
            return await store.update(record, body=change(dict(record.body)), ttl=ttl)
        except ConflictError:
            record = await _read(store, record.id, record.owner)
    raise ConflictError("the conversation is being changed by other requests; try again")


def _object(record: StoredRecord) -> JSONResponse:
    return JSONResponse(record.body["conversation"])


@router.post("/conversations", responses=_ERRORS)
async def create_conversation(body: ConversationCreate, request: Request) -> Response:
    metadata = _metadata(body.metadata)
    hex_ = stored_ids.new_hex()
    items = _new_items(body.items or [], hex_, 0)
    store, owner, ttl = await _store(request)
    now = store.clock()
    conversation = {
        "id": stored_ids.conversation_id(hex_),
        "object": "conversation",
        "created_at": int(time.time()),
        "metadata": metadata,
    }
    record = StoredRecord(
        kind="conversation",
        id=conversation["id"],
        owner=owner,
        created_at=now,
        expires_at=now + ttl,
        body={"conversation": conversation, "items": items, "next": len(items)},
    )
    await store.create(record)
    return JSONResponse(conversation)


@router.get("/conversations/{conversation_id}", responses=_ERRORS)
async def retrieve_conversation(conversation_id: str, request: Request) -> Response:
    store, owner, _ = await _store(request)
    return _object(await _read(store, conversation_id, owner))


@router.post("/conversations/{conversation_id}", responses=_ERRORS)
async def update_conversation(
    conversation_id: str, body: ConversationUpdate, request: Request
) -> Response:
    metadata = _metadata(body.metadata)
    store, owner, ttl = await _store(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        data["conversation"] = {**data["conversation"], "metadata": metadata}
        return data

    record = await _change(store, await _read(store, conversation_id, owner), change, ttl)
    return _object(record)


@router.delete("/conversations/{conversation_id}", responses=_ERRORS)
async def delete_conversation(conversation_id: str, request: Request) -> Response:
    store, owner, _ = await _store(request)
    if not await store.delete("conversation", conversation_id, owner=owner):
        raise conversation_not_found(conversation_id)
    return JSONResponse({"id": conversation_id, "object": "conversation.deleted", "deleted": True})


@router.get("/conversations/{conversation_id}/items", responses=_ERRORS)
async def list_items(
    conversation_id: str, request: Request, query: Annotated[PageQuery, Depends()]
) -> Response:
    store, owner, _ = await _store(request)
    record = await _read(store, conversation_id, owner)
    return JSONResponse(page(list(record.body.get("items") or []), query))


@router.post("/conversations/{conversation_id}/items", responses=_ERRORS)
async def create_items(conversation_id: str, body: ItemsCreate, request: Request) -> Response:
    if not body.items:
        raise InvalidRequestError("items must be a non-empty array", param="items")
    _new_items(body.items, "0" * 32, 0)  # checked before any store read
    store, owner, ttl = await _store(request)
    record = await _read(store, conversation_id, owner)
    hex_ = stored_ids.record_hex(record.id, "conv") or stored_ids.new_hex()
    added: list[dict[str, Any]] = []

    def change(data: dict[str, Any]) -> dict[str, Any]:
        first = int(data.get("next", 0))
        added[:] = _new_items(body.items, hex_, first)
        data["items"] = [*data.get("items", []), *added]
        data["next"] = first + len(added)
        return data

    await _change(store, record, change, ttl)
    return JSONResponse(
        {
            "object": "list",
            "data": added,
            "first_id": added[0]["id"],
            "last_id": added[-1]["id"],
            "has_more": False,
        }
    )


def _find(record: StoredRecord, item_id: str) -> dict[str, Any]:
    for item in record.body.get("items") or []:
        if item.get("id") == item_id:
            return dict(item)
    raise item_not_found(item_id, "item_id")


@router.get("/conversations/{conversation_id}/items/{item_id}", responses=_ERRORS)
async def retrieve_item(conversation_id: str, item_id: str, request: Request) -> Response:
    store, owner, _ = await _store(request)
    return JSONResponse(_find(await _read(store, conversation_id, owner), item_id))


@router.delete("/conversations/{conversation_id}/items/{item_id}", responses=_ERRORS)
async def delete_item(conversation_id: str, item_id: str, request: Request) -> Response:
    store, owner, ttl = await _store(request)
    record = await _read(store, conversation_id, owner)
    _find(record, item_id)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        data["items"] = [i for i in data.get("items", []) if i.get("id") != item_id]
        return data

    return _object(await _change(store, record, change, ttl))
