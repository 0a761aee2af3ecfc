"""A :class:`~grokgate.upstream.browser.api.Browser` over an httpx client, for unit tests whose
grok.com is an ``httpx.MockTransport`` handler (the real transport is curl_cffi, tested
against live loopback servers). httpx's errors map to grokgate's as curl_cffi's do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from grokgate.errors import EgressError, TransportError, TransportTimeoutError
from grokgate.logs import register_secret
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import DIRECT, Egress, Socket
from grokgate.upstream.browser.profiles import PROFILES, Fingerprint
from grokgate.upstream.grokweb.web import GrokWeb

FINGERPRINT = Fingerprint("chrome146", PROFILES["chrome146"])
UA = FINGERPRINT.user_agent


class DirectEgress:
    """One egress, no proxy, no clearance store: the egresses of a unit test."""

    def __init__(self, fingerprint: Fingerprint, cf_cookies: str | None = None) -> None:
        self._egress = Egress(fingerprint=fingerprint, key=DIRECT, cf_cookies=cf_cookies)
        if cf_cookies:
            register_secret(cf_cookies)

    async def for_account(self, account: Account) -> Egress:
        return self._egress

    async def egress(self, key: str) -> Egress:
        return self._egress

    def failed(self, error: EgressError) -> None:
        return None

    def succeeded(self, key: str) -> None:
        return None

    async def renew(self, egress: Egress) -> bool:
        return False


class _Answer:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self._response = response

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except httpx.TimeoutException as exc:
            raise TransportTimeoutError("timed out reading grok.com's answer") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"grok.com's answer broke off ({type(exc).__name__})") from exc


class HttpxBrowser:
    """``sockets``: where WebSockets go (the real transport), if anywhere."""

    def __init__(self, http: httpx.AsyncClient, sockets: Any | None = None) -> None:
        self.http = http
        self.sockets = sockets
        self.sent: list[httpx.Request] = []

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        egress: Egress,
        body: bytes | None = None,
        seconds: float | None = None,
    ) -> AsyncIterator[_Answer]:
        extra: dict[str, Any] = {} if seconds is None else {"timeout": seconds}
        request = self.http.build_request(method, url, headers=dict(headers), content=body, **extra)
        self.sent.append(request)
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise TransportTimeoutError("timed out connecting to grok.com") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"could not reach grok.com ({type(exc).__name__})") from exc
        try:
            yield _Answer(response)
        finally:
            await response.aclose()

    async def websocket(
        self, url: str, *, headers: Mapping[str, str], egress: Egress, seconds: float
    ) -> Socket:
        if self.sockets is None:
            raise TransportError("no WebSockets in the httpx test browser")
        return await self.sockets.websocket(url, headers=headers, egress=egress, seconds=seconds)

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.sockets is not None:
            await self.sockets.aclose()


def web_over(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    cf_cookies: str | None = None,
    sockets: bool = False,
    **kw: Any,
) -> GrokWeb:
    """A :class:`GrokWeb` whose grok.com is ``http`` (e.g. with an httpx.MockTransport);
    ``sockets``: WebSockets over the real transport (close with ``web.browser.aclose()``)."""
    from grokgate.upstream.browser.curl import CurlBrowser

    real = CurlBrowser(connect_timeout=5.0, idle_timeout=30.0) if sockets else None
    return GrokWeb(
        base_url=base_url,
        browser=HttpxBrowser(http, real),
        egresses=DirectEgress(FINGERPRINT, cf_cookies),
        **kw,
    )


def curl_web(base_url: str, *, cf_cookies: str | None = None, **kw: Any) -> GrokWeb:
    """A :class:`GrokWeb` on the real transport; close it with ``await web.browser.aclose()``."""
    from grokgate.upstream.browser.curl import CurlBrowser

    return GrokWeb(
        base_url=base_url,
        browser=CurlBrowser(connect_timeout=5.0, idle_timeout=30.0),
        egresses=DirectEgress(FINGERPRINT, cf_cookies),
        **kw,
    )


def account(token: str = "tok", account_id: str = "acct_x") -> Account:
    return Account(id=account_id, token=SecretStr(token))


@asynccontextmanager
async def live_web(
    base_url: str, *, cf_cookies: str | None = None, verify: str | bool = True, **kw: Any
) -> AsyncIterator[GrokWeb]:
    """A :class:`GrokWeb` on the real browser transport (curl_cffi) for a live loopback server."""
    web = curl_web(base_url, cf_cookies=cf_cookies, **kw)
    if verify is not True:
        web.browser.verify = verify  # type: ignore[attr-defined]
    try:
        yield web
    finally:
        await web.browser.aclose()
