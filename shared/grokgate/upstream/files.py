"""What an upstream client uploads for a request: a file's bytes, type and name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    mime: str
    data: bytes

    def __repr__(self) -> str:  # never dump the bytes into logs
        return f"Attachment(name={self.name!r}, mime={self.mime!r}, size={len(self.data)})"
