"""Helpers of the fault matrix tests: pool checks, bounded polls and raw SSE reading."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from grokgate.stores.records import Account
from tests.support import API_KEY, Gateway

T = TypeVar("T")
AUTH = {"Authorization": f"Bearer {API_KEY}"}


async def idle_pool(gw: Gateway) -> dict[str, Account]:
    """The stored pool, asserting that no account holds a lease (nothing in flight)."""
    accounts = await gw.accounts()
    held = {a.id: a.leases for a in accounts.values() if a.leases}
    assert not held, f"leases left behind: {held}"
    return accounts


async def eventually(
    read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within: float = 5.0
) -> T:
    """``await read()`` until ``ok`` of it holds or ``within`` seconds pass; the last value."""
    deadline = time.monotonic() + within
    value = await read()
    while not ok(value) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        value = await read()
    return value


def unpunished(account: Account) -> bool:
    return account.health >= 1.0 and account.last_error is None


@dataclass
class Sse:
    """A raw SSE answer: (event name, data) pairs in order; ``content`` the text deltas."""

    status: int
    events: list[tuple[str | None, str]] = field(default_factory=list)

    def json(self, index: int) -> Any:
        return json.loads(self.events[index][1])

    @property
    def names(self) -> list[str | None]:
        return [name for name, _ in self.events]


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, str]]:
    name: str | None = None
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            yield name, line[5:].strip()
            name = None


@contextmanager
def open_sse(url: str, body: dict[str, Any], **headers: str) -> Iterator[httpx.Response]:
    with httpx.stream("POST", url, json=body, headers={**AUTH, **headers}, timeout=20) as response:
        yield response


def read_sse(url: str, body: dict[str, Any], **headers: str) -> Sse:
    """POST ``body`` and read the whole SSE answer."""
    with open_sse(url, body, **headers) as response:
        out = Sse(response.status_code)
        if response.status_code == 200:
            out.events = list(parse_sse(response.iter_lines()))
        else:
            response.read()
    return out
