"""Mutable state of the xAI API fake (:mod:`.xai`): API keys, queued faults, the request log
and the chunk gate.

Faults (:data:`XAI_FAULTS`) are queued per API key with :meth:`XaiState.inject` and consumed
one per ``/v1/*`` request of that key, after authentication and body validation passed
(``times=-1`` makes a fault sticky until :meth:`XaiState.clear_faults`):

* ``429`` rate limit (``Retry-After`` header when ``retry_after`` is given), ``498`` capacity
  exceeded, ``500``, ``502``, ``503``: an error response in the endpoint's error envelope.
* ``cut``: a stream drops the connection uncleanly after ``after`` SSE events; a non-stream
  answer sends the first half of its JSON body and then drops the connection.
* ``slow``: sleep ``delay`` seconds, then answer normally.

The gate (no-buffering tests): while ``hold_chunks`` is True, a stream waits before each
content event after its first one until the test calls :meth:`XaiState.release_chunk` (one
release lets one content event through). The wait polls a :class:`threading.Semaphore` from
the event loop (``asyncio.sleep`` between tries), so it never blocks the loop and never ties up
a worker thread; it gives up waiting after ``gate_timeout`` seconds (the event is then sent),
or at once when ``hold_chunks`` goes back to False. Every SSE event's ``time.monotonic()`` is
appended to the request record's ``chunk_times`` *just before* the event is written, so a test
thread that has read content event k can check ``len(record.chunk_times)`` stays put (event
k+1 not sent), then call ``release_chunk()``::

    state.hold_chunks = True
    with client.stream(...) as events:            # another thread / client
        read the role chunk and the first content chunk
        record = state.wait_for_chunks(2)          # role + first content chunk written
        time.sleep(0.1); assert len(record.chunk_times) == 2
        state.release_chunk(); read the next content chunk ...
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "IMAGE_MODELS",
    "XAI_FAULTS",
    "XAI_MODELS",
    "XaiFault",
    "XaiFaultKind",
    "XaiRecord",
    "XaiState",
    "is_reasoning_model",
    "mask_key",
]

XAI_MODELS: tuple[str, ...] = (
    "grok-4",
    "grok-4-fast-reasoning",
    "grok-4-fast-non-reasoning",
    "grok-4.3",
    "grok-build-0.1",
    "grok-4.20-0309-reasoning",
    "grok-4.20-0309-non-reasoning",
    "grok-4.20-multi-agent-0309",
    "grok-2-image-1212",
)
IMAGE_MODELS: frozenset[str] = frozenset({"grok-2-image-1212"})

XaiFaultKind = Literal["429", "498", "500", "502", "503", "cut", "slow"]
XAI_FAULTS: tuple[str, ...] = ("429", "498", "500", "502", "503", "cut", "slow")


def is_reasoning_model(model: str) -> bool:
    """Models whose name says ``reasoning`` (not ``non-reasoning``) also stream reasoning."""
    return "reasoning" in model and "non-reasoning" not in model


def mask_key(key: str) -> str:
    """``xai-ab…wxyz``-style: never the whole key (short keys keep 2 characters)."""
    if len(key) >= 12:
        return f"{key[:6]}…{key[-4:]}"
    return f"{key[:2]}…"


@dataclass(frozen=True)
class XaiFault:
    kind: str
    retry_after: int | None = None
    after: int = 0
    delay: float = 1.0


@dataclass
class _Pending:
    fault: XaiFault
    left: int  # -1 = sticky


@dataclass
class XaiRecord:
    """One request as the fake saw it. ``started_at`` and ``chunk_times`` are
    ``time.monotonic()`` values; ``status`` is the HTTP status answered (0 until known);
    ``outcome`` is how a streamed answer ended (see :func:`.xai_wire.sse`)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    key: str | None
    http_version: str
    started_at: float
    chunk_times: list[float] = field(default_factory=list)
    status: int = 0
    # how a streamed answer ended: "completed", "cut" or "client_gone" (the client went away
    # mid-answer); None until it ends, and for a non-streamed answer
    outcome: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class XaiState:
    """All state of the fake; safe to mutate from a test thread while the server runs."""

    def __init__(self, keys: Iterable[str] = (), *, models: Iterable[str] = XAI_MODELS) -> None:
        self.keys: set[str] = set(keys)
        self.models: list[str] = list(models)
        self.requests: list[XaiRecord] = []
        self.hold_chunks = False
        self.gate_timeout = 30.0
        self.gate = threading.Semaphore(0)
        self._faults: dict[str, list[_Pending]] = {}
        self._lock = threading.Lock()

    # keys ---------------------------------------------------------------------------------
    def add_key(self, key: str) -> str:
        if not key:
            raise ValueError("key must be non-empty")
        with self._lock:
            self.keys.add(key)
        return key

    def remove_key(self, key: str) -> None:
        with self._lock:
            self.keys.discard(key)

    def knows(self, key: str | None) -> bool:
        with self._lock:
            return key is not None and key in self.keys

    # faults -------------------------------------------------------------------------------
    def inject(
        self,
        key: str,
        kind: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
        delay: float = 1.0,
    ) -> None:
        """Queue ``kind`` for the next ``times`` requests of ``key`` (-1 = sticky)."""
        if kind not in XAI_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {XAI_FAULTS}")
        if times == 0 or times < -1:
            raise ValueError("times must be positive or -1 (sticky)")
        if not self.knows(key):
            raise KeyError(f"unknown API key {mask_key(key)}")
        fault = XaiFault(kind, retry_after, max(0, after), max(0.0, delay))
        with self._lock:
            self._faults.setdefault(key, []).append(_Pending(fault, times))

    def take_fault(self, key: str) -> XaiFault | None:
        """Pop (or peek, when sticky) the next fault queued for ``key``."""
        with self._lock:
            queue = self._faults.get(key)
            if not queue:
                return None
            head = queue[0]
            if head.left != -1:
                head.left -= 1
                if head.left <= 0:
                    queue.pop(0)
            return head.fault

    def clear_faults(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._faults.clear()
            else:
                self._faults.pop(key, None)

    def faults_queued(self, key: str) -> int:
        with self._lock:
            return len(self._faults.get(key, []))

    # requests -----------------------------------------------------------------------------
    def record(self, record: XaiRecord) -> XaiRecord:
        with self._lock:
            self.requests.append(record)
        return record

    def requests_for(self, path: str | None = None, key: str | None = None) -> list[XaiRecord]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (key is None or r.key == key)
            ]

    def last(self, path: str | None = None) -> XaiRecord:
        found = self.requests_for(path)
        if not found:
            raise LookupError(f"no request recorded for {path or 'any path'}")
        return found[-1]

    def wait_for_chunks(
        self, count: int, *, record: XaiRecord | None = None, timeout: float = 5.0
    ) -> XaiRecord:
        """Block (test thread) until ``record`` (default: the latest request) has written at
        least ``count`` SSE events; returns the record."""
        deadline = time.monotonic() + timeout
        while True:
            target = record
            if target is None:
                with self._lock:
                    target = self.requests[-1] if self.requests else None
            if target is not None and len(target.chunk_times) >= count:
                return target
            if time.monotonic() > deadline:
                seen = 0 if target is None else len(target.chunk_times)
                raise TimeoutError(f"{seen} of {count} SSE events written")
            time.sleep(0.002)

    # gate ---------------------------------------------------------------------------------
    def release_chunk(self, n: int = 1) -> None:
        """Let ``n`` held content events through (see the module docstring)."""
        self.gate.release(n)

    async def wait_gate(self) -> None:
        """Server side: wait for one :meth:`release_chunk` while ``hold_chunks`` is True."""
        deadline = time.monotonic() + self.gate_timeout
        while self.hold_chunks and time.monotonic() < deadline:
            if self.gate.acquire(blocking=False):
                return
            await asyncio.sleep(0.001)

    # housekeeping -------------------------------------------------------------------------
    def reset(self) -> None:
        """Clear faults, the request log and the gate (keys and models kept)."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.hold_chunks = False
            self.gate_timeout = 30.0
            self.gate = threading.Semaphore(0)
