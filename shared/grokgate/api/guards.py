"""Who may use the gateway at all: pure-ASGI middlewares that answer before any route runs.

- :class:`HostAllowList`: a request whose ``Host`` is not in ``GROKGATE_ALLOWED_HOSTS`` is a 400
  before anything else (a DNS-rebinding page reaches the gateway under its own host name).
- :class:`LoopbackOnly`: an open gateway (no API keys) serves loopback clients only; others get
  a 403. ``/health`` is always answered.
- :class:`ApiKeyRequired`: with API keys configured, a ``/v1/...`` request without a valid key
  is a 401 before its body is read or parsed (``/health``, signed ``/media/...`` URLs and
  ``/admin/...``, which has its own key, are not under ``/v1``).
- :class:`ConcurrencyLimit`: more than ``GROKGATE_MAX_CONCURRENT_REQUESTS`` requests in flight
  (a streamed answer counts until its last byte) is a 503 ``server_busy`` with ``Retry-After``.

Each answer is rendered in the format of the API the request was made to (``render``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from grokgate.errors import (
    GrokGateError,
    InvalidRequestError,
    PermissionDeniedError,
    ServerBusyError,
)

Renderer = Callable[[Request, GrokGateError], Response]
UNGUARDED = frozenset({"/health"})


def split_host(value: str) -> tuple[str, str | None]:
    """``"Example.com:8000"`` -> ``("example.com", "8000")``; ``"[::1]"`` -> ``("[::1]", None)``."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value.partition("]")
        if not bracket:
            return value, None
        return name + "]", rest[1:] if rest.startswith(":") else None
    name, colon, port = value.rpartition(":")
    return (name, port) if colon else (value, None)


def host_allowed(host: str | None, allowed: Iterable[str]) -> bool:
    """Is ``host`` (a Host header) in ``allowed`` (``*``, or names with an optional port)?"""
    entries = list(allowed)
    if "*" in entries:
        return True
    if not host:
        return False
    name, port = split_host(host)
    for entry in entries:
        want_name, want_port = split_host(entry)
        if name == want_name and (want_port is None or want_port == port):
            return True
    return False


def is_loopback(client: object) -> bool:
    """Is the ASGI ``client`` (``(host, port)`` or None) a loopback address?"""
    if not isinstance(client, (tuple, list)) or not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]).split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _answer(
    render: Renderer, error: GrokGateError, scope: Scope, receive: Receive, send: Send
) -> None:
    # rendered without the Host header: the URL (and so the path) never comes from it
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"host"]
    request = Request({**scope, "headers": headers})
    await render(request, error)(request.scope, receive, send)


class HostAllowList:
    """Refuse requests whose ``Host`` header is not allowed with a 400 ``invalid_host``."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str], render: Renderer) -> None:
        self.app = app
        self.allowed = [entry.strip().lower() for entry in allowed if entry.strip()]
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not host_allowed(_header(scope, b"host"), self.allowed):
            error = InvalidRequestError(
                "The Host header of this request is not one this gateway answers to "
                "(GROKGATE_ALLOWED_HOSTS).",
                code="invalid_host",
            )
            await _answer(self.render, error, scope, receive, send)
            return
        await self.app(scope, receive, send)


class LoopbackOnly:
    """An open gateway's guard: clients not on loopback get a 403 ``loopback_only``."""

    def __init__(self, app: ASGIApp, *, render: Renderer) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("path") not in UNGUARDED
            and not is_loopback(scope.get("client"))
        ):
            error = PermissionDeniedError(
                "This gateway has no API keys configured, so it serves this machine (loopback) "
                "only. Set GROKGATE_API_KEYS to serve other clients.",
                code="loopback_only",
            )
            await _answer(self.render, error, scope, receive, send)
            return
        await self.app(scope, receive, send)


class ApiKeyRequired:
    """A 401 for ``/v1/...`` requests without one of ``keys``, decided on the headers alone:
    the body is neither read nor parsed (the routes' ``require_api_key`` checks again)."""

    def __init__(self, app: ASGIApp, *, keys: list[SecretStr], render: Renderer) -> None:
        self.app = app
        self.keys = keys
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/v1" or path.startswith("/v1/")):
            from grokgate.api.deps import key_problem

            problem = key_problem(Headers(scope=scope), self.keys)
            if problem is not None:
                await _answer(self.render, problem, scope, receive, send)
                return
        await self.app(scope, receive, send)


class ConcurrencyLimit:
    """At most ``limit`` requests in flight; the one over it gets a 503 with ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, limit: int, render: Renderer) -> None:
        self.app = app
        self.limit = limit
        self.render = render
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNGUARDED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            error = ServerBusyError(
                f"This gateway is serving its maximum of {self.limit} concurrent requests; "
                "retry shortly.",
                retry_after=1,
            )
            await _answer(self.render, error, scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
