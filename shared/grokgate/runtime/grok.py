"""grok.com: the browser transport, each account's egress and clearance, the x-statsig-id
signer, the REST, chat and Imagine clients, and the quota reads. Every client needs the
account store built first (``await runtime.store()``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.logs import get_logger
from grokgate.runtime.cached import cached

if TYPE_CHECKING:
    import httpx

    from grokgate.core.chat import ChatUpstream
    from grokgate.stores.base import AccountStore
    from grokgate.stores.records import Account
    from grokgate.upstream.browser.api import Browser
    from grokgate.upstream.egress import EgressPool
    from grokgate.upstream.grokweb.client import GrokWebClient
    from grokgate.upstream.grokweb.imagine_quota import ImagineWindow
    from grokgate.upstream.grokweb.media_client import GrokMediaClient
    from grokgate.upstream.grokweb.ratelimits import RateLimits
    from grokgate.upstream.grokweb.statsig import Signer
    from grokgate.upstream.grokweb.web import GrokWeb

log = get_logger("runtime")


class QuotaReads:
    """grok.com's quota reads, with the clients built on the first read: the pool needs a
    quota sync, but a process that only relays to xAI (or serves ``/v1/models``) never calls
    grok.com and so never loads the browser transport."""

    def __init__(
        self, rest: Callable[[], GrokWebClient], media: Callable[[], GrokMediaClient]
    ) -> None:
        self._rest, self._media = rest, media

    async def rate_limits(self, account: Account, mode: str) -> RateLimits:
        return await self._rest().rate_limits(account, mode)

    async def imagine_quota(self, account: Account) -> dict[str, ImagineWindow | None]:
        return await self._media().imagine_quota(account)


class GrokParts:
    settings: Settings

    def built_store(self) -> AccountStore:
        """The account store, which every grok.com client is built after."""
        from grokgate.runtime.accounts import AccountParts

        store: AccountStore | None = AccountParts.store.peek(self)
        assert store is not None, "the store is built before any grok.com client"
        return store

    def quota_reads(self) -> QuotaReads:
        return QuotaReads(self.web_client, self.media_client)

    @cached
    def egress_pool(self) -> EgressPool:
        """Each grok.com account's egress (proxy, clearance)."""
        from grokgate.upstream.clearance import ClearanceBook, FlareSolverr, parse_clearances
        from grokgate.upstream.egress import EgressPool

        s = self.settings
        store = self.built_store()
        solver = None
        if s.flaresolverr_url:
            solver = FlareSolverr(
                s.flaresolverr_url, target=s.grok_base_url, timeout=s.flaresolverr_timeout
            )
        clearances = ClearanceBook(
            store=store,
            fingerprint=s.fingerprint,
            single_cookies=s.cf_cookie_value,
            configured=parse_clearances(s.clearances.get_secret_value() if s.clearances else None),
            solver=solver,
            retry_seconds=s.clearance_retry_seconds,
        )
        return EgressPool(
            proxies=[p.get_secret_value() for p in s.proxies],
            store=store,
            clearances=clearances,
            rest_seconds=s.proxy_rest_seconds,
            dead_after=s.proxy_dead_after,
            dead_seconds=s.proxy_dead_seconds,
        )

    @cached
    def browser(self) -> Browser:
        """The browser transport (curl_cffi, imported here, on the first grok.com call)."""
        from grokgate.upstream.browser.curl import CurlBrowser

        s = self.settings
        return CurlBrowser(
            connect_timeout=s.connect_timeout,
            idle_timeout=s.idle_timeout,
            verify=s.grok_ca_file or True,
        )

    @cached
    def grok_web(self) -> GrokWeb:
        """What every grok.com client shares: the browser transport and the egresses."""
        from grokgate.upstream.grokweb.web import GrokWeb

        s = self.settings
        return GrokWeb(
            base_url=s.grok_base_url,
            browser=self.browser(),
            egresses=self.egress_pool(),
            deadline=s.request_deadline,
            connect_timeout=s.connect_timeout,
        )

    @cached
    def provider_http(self) -> httpx.AsyncClient:
        """httpx for what is not grok.com (an x-statsig-id token provider)."""
        from grokgate.upstream.http import new_http_client

        s = self.settings
        return new_http_client(connect_timeout=s.connect_timeout, idle_timeout=s.idle_timeout)

    @cached
    def statsig_signer(self) -> Signer:
        """The x-statsig-id signer: an external provider if configured, else the live pair
        (the store's, seeded by the settings; synthetic ``x1:`` while there is none)."""
        from grokgate.upstream.grokweb.statsig import ProviderSigner
        from grokgate.upstream.grokweb.statsig_live import LiveSigner, StatsigPair

        s = self.settings
        seed = None
        if s.statsig_header_hex and s.statsig_suffix is not None:
            seed = StatsigPair(s.statsig_header_hex, s.statsig_suffix, s.statsig_trailer)
        if s.statsig_provider_url:
            log.info("x-statsig-id: from the token provider")
            return ProviderSigner(
                s.statsig_provider_url, self.provider_http(), seed=seed.seed if seed else None
            )
        signer = LiveSigner(self.built_store(), seed)
        if seed is None:
            log.warning(
                "x-statsig-id: no pair configured; the synthetic x1: value is used until "
                "one is set (grokgate statsig set), and grok.com may reject it"
            )
        else:
            log.info("x-statsig-id: signed in-process (the shared pair, else the env's)")
        return signer

    @cached
    def web_client(self) -> GrokWebClient:
        """grok.com's REST client."""
        from grokgate.upstream.grokweb.client import GrokWebClient

        return GrokWebClient(self.grok_web(), signer=self.statsig_signer())

    @cached
    def chat_upstream(self) -> ChatUpstream:
        """grok.com chat over the transport the settings name (``auto``: WS, REST fallback)."""
        choice = self.settings.web_chat_transport
        if choice == "rest":
            return self.web_client()
        if choice == "ws":
            return self._gateway_client()
        from grokgate.upstream.grokweb.transports import FallbackChat

        return FallbackChat(self._gateway_client(), self.web_client())

    def _gateway_client(self) -> ChatUpstream:
        from grokgate.core.accounts.user_ids import StoredUserIds
        from grokgate.upstream.grokweb.gateway import GrokGatewayClient
        from grokgate.upstream.grokweb.session import fetch_user_id

        web = self.grok_web()

        async def lookup(account: Account) -> str:
            return await fetch_user_id(web, account)

        return GrokGatewayClient(
            web,
            user_ids=StoredUserIds(self.built_store(), lookup),
            heartbeat_seconds=self.settings.ws_heartbeat_seconds,
        )

    @cached
    def media_client(self) -> GrokMediaClient:
        """grok.com's Imagine flows, asset downloads and Imagine quota reads."""
        from grokgate.upstream.grokweb.media_client import GrokMediaClient

        s = self.settings
        return GrokMediaClient(
            self.grok_web(),
            signer=self.statsig_signer(),
            assets_url=s.grok_assets_url,
            public_hosts=tuple(s.media_public_hosts),
            max_download_bytes=s.max_media_bytes,
        )

    async def close_grok(self) -> None:
        """Close the transports; the clients over them are dropped (built anew on next use)."""
        http: httpx.AsyncClient | None = GrokParts.provider_http.forget(self)
        if http is not None:
            await http.aclose()
        browser: Browser | None = GrokParts.browser.forget(self)
        if browser is not None:
            await browser.aclose()
        GrokParts.grok_web.forget(self)
        GrokParts.egress_pool.forget(self)
