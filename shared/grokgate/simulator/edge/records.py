"""What the edge records about every connection and request (read by tests and the verdict)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .h2wire import H2Preface, akamai_fingerprint, pseudo_order
from .hello import ClientHello

__all__ = ["ConnectionRecord", "RequestRecord", "parse_cookies"]


def parse_cookies(values: list[str]) -> dict[str, str]:
    """Cookies from ``cookie`` header values (HTTP/2 clients may split them into crumbs)."""
    out: dict[str, str] = {}
    for value in values:
        for crumb in value.split(";"):
            name, sep, val = crumb.strip().partition("=")
            if sep and name and name not in out:
                out[name] = val.strip()
    return out


@dataclass
class RequestRecord:
    """One request as received. ``headers`` are the regular headers in wire order with the
    client's name spelling (lower case on HTTP/2), every ``cookie`` crumb included;
    ``pseudo_headers`` the HTTP/2 pseudo-headers in order (empty on HTTP/1.1)."""

    method: str
    path: str
    authority: str | None
    headers: list[tuple[str, str]]
    pseudo_headers: list[tuple[str, str]] = field(default_factory=list)
    http_version: str = "HTTP/2"
    websocket: bool = False
    stream_id: int | None = None
    outcome: str = "pending"  # forwarded | blocked | challenged | solved | error
    status: int | None = None
    note: str | None = None  # why the edge answered itself (block / challenge reason)
    received_at: float = field(default_factory=time.time)

    @property
    def pseudo_order(self) -> str:
        """``m,a,s,p`` for Chrome; empty on HTTP/1.1."""
        return pseudo_order(self.pseudo_headers)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def header_values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    @property
    def header_names(self) -> list[str]:
        return [k for k, _ in self.headers]

    @property
    def cookies(self) -> dict[str, str]:
        return parse_cookies(self.header_values("cookie"))

    @property
    def user_agent(self) -> str:
        return self.header("user-agent") or ""


@dataclass
class ConnectionRecord:
    """One client connection: its ClientHello, negotiated ALPN, HTTP/2 preface, requests."""

    source: tuple[str, int]
    hello: ClientHello | None = None
    hello_error: str | None = None
    alpn: str | None = None
    tls_version: str | None = None
    h2: H2Preface | None = None
    requests: list[RequestRecord] = field(default_factory=list)
    error: str | None = None
    closed: bool = False
    opened_at: float = field(default_factory=time.time)

    @property
    def ip(self) -> str:
        return self.source[0]

    @property
    def ja4(self) -> str | None:
        return self.hello.ja4 if self.hello else None

    @property
    def http_version(self) -> str:
        return "HTTP/2" if self.alpn == "h2" else "HTTP/1.1"

    @property
    def settings(self) -> tuple[tuple[int, int], ...] | None:
        return self.h2.settings if self.h2 else None

    @property
    def window_update(self) -> int | None:
        return self.h2.window_update if self.h2 else None

    @property
    def websocket(self) -> bool:
        return any(r.websocket for r in self.requests)

    @property
    def akamai(self) -> str | None:
        """The Akamai HTTP/2 fingerprint (pseudo order of the first request), None on h1."""
        if self.h2 is None:
            return None
        order = self.requests[0].pseudo_order if self.requests else ""
        return akamai_fingerprint(self.h2, order)

    def summary(self) -> str:
        """One line for logs and assertion messages."""
        reqs = ", ".join(f"{r.method} {r.path} -> {r.outcome}" for r in self.requests)
        return (
            f"{self.source[0]}:{self.source[1]} ja4={self.ja4} alpn={self.alpn} "
            f"akamai={self.akamai} [{reqs}]" + (f" error={self.error}" if self.error else "")
        )
