"""An in-memory conversation store with a settable clock, and a gateway that uses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grokgate.api.app import create_app
from grokgate.errors import ConflictError
from grokgate.runtime import Runtime
from grokgate.simulator.server import ServerThread
from grokgate.stores.conversations import ConversationStore, RecordKind, StoredRecord, unpack
from tests.conftest import gateway_settings


@dataclass
class Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class MemoryConversationStore(ConversationStore):
    """The store contract on a dict; ``reads`` counts the records looked up."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self.rows: dict[tuple[str, str], tuple[StoredRecord, bytes]] = {}
        self.reads = 0

    async def _load(self, kind: RecordKind, record_id: str) -> tuple[StoredRecord, bytes] | None:
        self.reads += 1
        return self.rows.get((kind, record_id))

    async def _insert(self, record: StoredRecord, data: bytes) -> None:
        found = self.rows.get((record.kind, record.id))
        if found is not None and found[0].expires_at > self.clock():
            raise ConflictError("exists")
        self.rows[(record.kind, record.id)] = (record, data)

    async def _replace(self, record: StoredRecord, data: bytes, expected_version: int) -> None:
        found = self.rows.get((record.kind, record.id))
        if found is None or found[0].version != expected_version:
            raise ConflictError("moved on")
        self.rows[(record.kind, record.id)] = (record, data)

    async def _remove(self, kind: RecordKind, record_id: str) -> bool:
        return self.rows.pop((kind, record_id), None) is not None

    async def _sweep(self, now: float) -> int:
        gone = [k for k, (r, _) in self.rows.items() if r.expires_at <= now]
        for key in gone:
            del self.rows[key]
        return len(gone)

    def threads(self) -> dict[str, dict[str, object]]:
        """Every stored thread record's body, by message id."""
        return {i: unpack(d) for (k, i), (_, d) in self.rows.items() if k == "thread"}


@dataclass
class ThreadGateway:
    url: str
    store: MemoryConversationStore
    clock: Clock
    ttl: float
    servers: list[ServerThread] = field(default_factory=list)


def start_thread_gateway(sim_url: str, data_dir: Path, **overrides: object) -> ThreadGateway:
    clock = Clock()
    store = MemoryConversationStore(clock)
    runtime = Runtime(gateway_settings(sim_url, data_dir, **overrides))

    async def conversation_store() -> ConversationStore:
        return store

    runtime.__dict__["conversation_store"] = conversation_store  # shadows the runtime's own
    server = ServerThread(create_app(runtime=runtime))
    ttl = runtime.settings.responses_ttl_seconds
    return ThreadGateway(server.start(), store, clock, ttl, [server])
