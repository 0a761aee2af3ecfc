"""Shared pieces of the conversation store tests: a table per test, store factories, records."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from typing import Any

from grokgate.stores.conversations import ConversationStore, StoredRecord
from grokgate.stores.conversations_dynamodb import (
    create_conversations_table,
)
from tests.support import FakeClock, aws_client

ConvFactory = Callable[[], ConversationStore]
DAY = 86400.0


def new_conversations_table(endpoint: str) -> str:
    name = f"grokgate-convs-test-{uuid.uuid4().hex[:12]}"
    create_conversations_table(aws_client("dynamodb", endpoint), name)
    return name


def record(
    clock: FakeClock,
    body: dict[str, Any] | None = None,
    *,
    kind: str = "response",
    owner: str = "owner-a",
    ttl: float = 30 * DAY,
    record_id: str | None = None,
) -> StoredRecord:
    return StoredRecord(
        kind=kind,  # type: ignore[arg-type]
        id=record_id or f"resp_{uuid.uuid4().hex}",
        owner=owner,
        created_at=clock.now,
        expires_at=clock.now + ttl,
        body=body if body is not None else {"input": [], "output": []},
    )


def incompressible(size: int) -> str:
    """``size`` characters of base64 of random bytes: zlib cannot shrink it much."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()[:size]


BODY: dict[str, Any] = {
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "héllo 🎬\n\u2028"}]}],
    "output": [{"id": "msg_1", "type": "message", "status": "completed"}],
    "numbers": {"third": 1 / 3, "sum": 0.1 + 0.2, "tiny": 1e-300, "huge": 10**30, "neg": -0.0},
    "flags": [True, False, None],
    "nested": {"a": {"b": {"c": [[], {}, ""]}}},
}
