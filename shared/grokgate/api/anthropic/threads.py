"""Anthropic message threads (``thread`` on ``POST /v1/messages``) on the conversation store.

``{"type": "create"}`` answers the request as usual and stores the conversation — ``system``,
``tools``, every message and the reply — as a ``thread`` record under the reply's ``id``.
``{"type": "continue", "previous_message_id": ID}`` reads that record, puts its ``system`` and
``tools`` and its messages in front of the request's own (only the new turn), answers the whole
conversation, and stores it under the new reply's ``id``; the record it continued is then
deleted, since Anthropic lets each reply be continued once. docs/anthropic-threads.md has the
contract this follows: §1-§2 the field, §3 the errors the SDKs act on, §5 what grokgate does.

A thread is best-effort, as Anthropic's is: a reply that could not be stored is still returned,
and the next ``continue`` gets the ``thread_not_found`` 404 on which the SDKs send the whole
conversation again. A missing, expired or another key's record is that same 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from grokgate.errors import GrokGateError, InvalidRequestError, NotFoundError
from grokgate.logs import get_logger
from grokgate.stores.conversations import ConversationStore, StoredRecord

log = get_logger("anthropic.threads")

THREADS_BETA = "message-threads-2026-08-12"
HELD_FIELDS = ("system", "tools")  # the thread keeps these from its create request
_BODY_VERSION = 1


class ThreadNotFoundError(NotFoundError):
    """No usable thread for ``previous_message_id`` (missing, expired, another key's)."""

    code = "thread_not_found"

    def __init__(self, previous_message_id: str) -> None:
        super().__init__(
            f"no thread holds a message with id {previous_message_id!r} (it may have expired); "
            "send the whole conversation with thread type 'create'",
            param="thread.previous_message_id",
        )
        self.anthropic_details: dict[str, Any] = {"error_code": self.code}


class ThreadFingerprintMismatchError(InvalidRequestError):
    code = "thread_fingerprint_mismatch"

    def __init__(self, fields: list[str]) -> None:
        names = " and ".join(fields)
        super().__init__(
            f"{names} differ from the values the thread was created with: leave them out of a "
            "continue request, or send the whole conversation with thread type 'create' to "
            "change them",
            param=fields[0],
        )
        self.anthropic_details = {"error_code": self.code}


class ThreadUnsupportedError(InvalidRequestError):
    """A request that cannot be threaded here; the tool runners then send it without one."""

    code = "thread_unsupported_request"

    def __init__(self, message: str, unsupported: list[str]) -> None:
        super().__init__(message, param="thread")
        self.anthropic_details = {"error_code": self.code, "unsupported": unsupported}


class _ThreadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["create", "continue"]
    previous_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ThreadTurn:
    """One request's place in a thread: the whole request to answer and where to store it."""

    mode: Literal["create", "continue"]
    owner: str
    body: dict[str, Any]  # the request with the thread's history and held fields, no ``thread``
    previous: StoredRecord | None = None


def thread_of(body: dict[str, Any]) -> _ThreadIn | None:
    """The request's ``thread`` (None when absent or null); 400 when it is malformed."""
    value = body.get("thread")
    if value is None:
        return None
    try:
        thread = _ThreadIn.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        param = f"thread.{where}" if where else "thread"
        raise InvalidRequestError(f"{param}: {first['msg']}", param=param) from exc
    if thread.type == "continue" and not thread.previous_message_id:
        raise InvalidRequestError(
            "thread.previous_message_id: Field required", param="thread.previous_message_id"
        )
    if thread.type == "create" and thread.previous_message_id is not None:
        raise InvalidRequestError(
            "thread.previous_message_id: only a continue names a previous message",
            param="thread.previous_message_id",
        )
    return thread


async def open_turn(
    store: ConversationStore, thread: _ThreadIn, body: dict[str, Any], *, owner: str
) -> ThreadTurn:
    """The request as the model must see it: unchanged for a create, the stored thread plus
    the new messages for a continue (one store read)."""
    request = {k: v for k, v in body.items() if k != "thread"}
    if thread.type == "create":
        return ThreadTurn("create", owner, request)
    previous_id = thread.previous_message_id or ""
    record = await store.get("thread", previous_id, owner=owner)
    if record is None or record.body.get("v") != _BODY_VERSION:
        raise ThreadNotFoundError(previous_id)
    held = record.body
    changed = [f for f in HELD_FIELDS if f in request and request[f] != held.get(f)]
    if changed:
        raise ThreadFingerprintMismatchError(changed)
    new = request.get("messages")
    if not isinstance(new, list):
        raise InvalidRequestError("messages: Input should be a valid list", param="messages")
    for name in HELD_FIELDS:
        if held.get(name) is not None:
            request[name] = held[name]
    request["messages"] = [*held["messages"], *new]
    return ThreadTurn("continue", owner, request, previous=record)


async def save_turn(
    store: ConversationStore,
    turn: ThreadTurn,
    message_id: str,
    reply_content: list[dict[str, Any]],
    *,
    ttl: float,
) -> bool:
    """Store the conversation up to and including the reply under ``message_id``; whether it
    was stored. Never raises for a store problem: the thread is best-effort (module doc)."""
    body = {
        "v": _BODY_VERSION,
        "model": turn.body.get("model"),
        **{name: turn.body.get(name) for name in HELD_FIELDS},
        "messages": [*turn.body["messages"], {"role": "assistant", "content": reply_content}],
    }
    now = store.clock()
    record = StoredRecord(
        kind="thread",
        id=message_id,
        owner=turn.owner,
        created_at=now,
        expires_at=now + ttl,
        body=body,
    )
    try:
        await store.create(record)
    except GrokGateError as exc:
        log.warning("thread turn %s not stored: %s", message_id, exc.message)
        return False
    if turn.previous is not None:
        try:
            await store.delete("thread", turn.previous.id, owner=turn.owner)
        except GrokGateError as exc:  # it expires on its own
            log.warning("continued thread turn %s not deleted: %s", turn.previous.id, exc.message)
    return True
