"""What every grok.com client shares, injected as one value: where grok.com is, the browser
transport, the egress of each account (its proxy, its clearance and the fingerprint that goes
with it) and how long one answer may take. Process-wide and read-only.

:meth:`GrokWeb.open` and :meth:`GrokWeb.socket` are the only ways the clients reach grok.com.
They tell the egress pool how each proxy fared, and when Cloudflare challenges an egress and a
newer clearance can be had (FlareSolverr), they retry once with it (headers are rebuilt, since
the clearance may come with another User-Agent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from grokgate.errors import EgressError, UpstreamError, UpstreamHandshakeError, Verdict
from grokgate.logs import register_secret
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import (
    Browser,
    Egress,
    HandshakeRefused,
    Response,
    Socket,
)
from grokgate.upstream.grokweb.request import cookie_header

Headers = Callable[[Egress], Mapping[str, str]]


class Egresses(Protocol):
    """Where each account's traffic leaves from (:class:`~grokgate.upstream.egress.EgressPool`)."""

    async def for_account(self, account: Account) -> Egress: ...

    async def egress(self, key: str) -> Egress: ...

    def failed(self, error: EgressError) -> None: ...

    def succeeded(self, key: str) -> None: ...

    async def renew(self, egress: Egress) -> bool: ...


def challenged(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an answer is Cloudflare's challenge (which a new clearance may pass)."""
    return status == 403 and headers.get("cf-mitigated", "").lower() == "challenge"


def challenge_error(egress: Egress) -> UpstreamError:
    """What a Cloudflare challenge no clearance could pass tells the operator: which egress,
    and what to refresh there."""
    return UpstreamError(
        f"grok.com answered a Cloudflare challenge through egress {egress.key} (HTTP 403): "
        "refresh that egress's clearance (the cf_clearance cookies and the User-Agent they "
        "were issued to, from a browser on the same IP: GROKGATE_CF_COOKIES and "
        "GROKGATE_USER_AGENT, or GROKGATE_CLEARANCES per proxy), or set "
        "GROKGATE_FLARESOLVERR_URL",
        upstream_status=403,
        verdict=Verdict.CHALLENGED,
        code="upstream_challenge",
    )


@dataclass(frozen=True)
class GrokWeb:
    base_url: str
    browser: Browser
    egresses: Egresses
    deadline: float = 300.0  # one answer, first byte to last
    connect_timeout: float = 15.0  # opening a WebSocket, handshake included

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    async def egress(self, account: Account) -> Egress:
        """The egress ``account`` uses (:class:`EgressError` while its proxy rests)."""
        return await self.egresses.for_account(account)

    def cookie(self, account: Account, egress: Egress) -> str:
        """The account's cookie header through ``egress`` (SSO cookies, then its clearance)."""
        token = account.token.get_secret_value()
        register_secret(token)
        return cookie_header(token, egress.cf_cookies)

    @asynccontextmanager
    async def open(
        self,
        egress: Egress,
        method: str,
        url: str,
        *,
        headers: Headers,
        body: bytes | None = None,
        seconds: float | None = None,
    ) -> AsyncIterator[Response]:
        """The answer to one request through ``egress`` (module docstring)."""
        async with self._stream(egress, method, url, headers, body, seconds) as response:
            if not challenged(response.status_code, response.headers):
                yield response
                return
        if not await self.egresses.renew(egress):
            raise challenge_error(egress)
        retry = await self.egresses.egress(egress.key)
        async with self._stream(retry, method, url, headers, body, seconds) as response:
            if challenged(response.status_code, response.headers):
                raise challenge_error(retry)
            yield response

    async def socket(
        self, egress: Egress, url: str, *, headers: Headers, seconds: float | None = None
    ) -> Socket:
        """An open WebSocket through ``egress``; :class:`HandshakeRefused` or a transport
        error when it cannot be opened."""
        try:
            return await self._socket(egress, url, headers, seconds)
        except HandshakeRefused as exc:
            if not challenged(exc.status_code, exc.headers):
                raise
            if not await self.egresses.renew(egress):
                raise UpstreamHandshakeError.from_error(challenge_error(egress)) from exc
        retry = await self.egresses.egress(egress.key)
        try:
            return await self._socket(retry, url, headers, seconds)
        except HandshakeRefused as exc:
            if challenged(exc.status_code, exc.headers):
                raise UpstreamHandshakeError.from_error(challenge_error(retry)) from exc
            raise

    # --- one try --------------------------------------------------------------------------

    @asynccontextmanager
    async def _stream(
        self,
        egress: Egress,
        method: str,
        url: str,
        headers: Headers,
        body: bytes | None,
        seconds: float | None,
    ) -> AsyncIterator[Response]:
        try:
            opened = self.browser.stream(
                method, url, headers=headers(egress), egress=egress, body=body, seconds=seconds
            )
            async with opened as response:
                self.egresses.succeeded(egress.key)
                yield response
        except EgressError as exc:
            self.egresses.failed(exc)
            raise

    async def _socket(
        self, egress: Egress, url: str, headers: Headers, seconds: float | None
    ) -> Socket:
        try:
            socket = await self.browser.websocket(
                url, headers=headers(egress), egress=egress, seconds=seconds or self.connect_timeout
            )
        except EgressError as exc:
            self.egresses.failed(exc)
            raise
        except HandshakeRefused:
            self.egresses.succeeded(egress.key)  # the proxy carried it; grok.com refused
            raise
        self.egresses.succeeded(egress.key)
        return socket
