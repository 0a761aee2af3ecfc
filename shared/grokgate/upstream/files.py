"""What an upstream client uploads for a request: a file's bytes, type and name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    mime: str
    data: bytes

    def __repr__(self) -> str:  # never dump the bytes into logs
        return f"Attachment(name={self.name!r}, mime={self.mime!r}, size={len(self.data)})"


class ByteBudget:
    """Bytes several fetches may bring in together: each piece of a body is taken from it as
    it arrives, and the fetch stops with ``exceeded()`` as soon as the budget runs out."""

    def __init__(self, total: int, exceeded: Callable[[], Exception]) -> None:
        self.remaining = total
        self.exceeded = exceeded

    def take(self, size: int) -> None:
        self.remaining -= size
        if self.remaining < 0:
            raise self.exceeded()

    def check(self, size: int) -> None:
        """Refuse, without taking anything, a body announced as larger than what is left."""
        if size > self.remaining:
            raise self.exceeded()
