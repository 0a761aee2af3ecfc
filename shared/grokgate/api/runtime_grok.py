"""The composition root's grok.com part: the browser transport, each account's egress and
clearance, and the quota reads, built on first use like everything in :mod:`.runtime`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.stores.base import AccountStore
from grokgate.stores.records import Account

if TYPE_CHECKING:
    from grokgate.upstream.browser.api import Browser
    from grokgate.upstream.egress import EgressPool
    from grokgate.upstream.grokweb.client import GrokWebClient
    from grokgate.upstream.grokweb.imagine_quota import ImagineWindow
    from grokgate.upstream.grokweb.media_client import GrokMediaClient
    from grokgate.upstream.grokweb.ratelimits import RateLimits
    from grokgate.upstream.grokweb.web import GrokWeb


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
    _store: AccountStore | None
    _browser: Browser | None
    _egresses: EgressPool | None
    _web: GrokWeb | None

    def egress_pool(self) -> EgressPool:
        """Each grok.com account's egress (proxy, clearance); the store is built first."""
        if self._egresses is None:
            from grokgate.upstream.clearance import ClearanceBook, FlareSolverr, parse_clearances
            from grokgate.upstream.egress import EgressPool

            s = self.settings
            assert self._store is not None, "the store is built before any grok.com client"
            solver = None
            if s.flaresolverr_url:
                solver = FlareSolverr(
                    s.flaresolverr_url, target=s.grok_base_url, timeout=s.flaresolverr_timeout
                )
            clearances = ClearanceBook(
                store=self._store,
                fingerprint=s.fingerprint,
                single_cookies=s.cf_cookie_value,
                configured=parse_clearances(
                    s.clearances.get_secret_value() if s.clearances else None
                ),
                solver=solver,
                retry_seconds=s.clearance_retry_seconds,
            )
            self._egresses = EgressPool(
                proxies=[p.get_secret_value() for p in s.proxies],
                store=self._store,
                clearances=clearances,
                rest_seconds=s.proxy_rest_seconds,
                dead_after=s.proxy_dead_after,
                dead_seconds=s.proxy_dead_seconds,
            )
        return self._egresses

    def grok_web(self) -> GrokWeb:
        """What every grok.com client shares: the browser transport (curl_cffi, imported
        here, on the first grok.com call) and the egresses."""
        if self._web is None:
            from grokgate.upstream.browser.curl import CurlBrowser
            from grokgate.upstream.grokweb.web import GrokWeb

            s = self.settings
            self._browser = CurlBrowser(
                connect_timeout=s.connect_timeout,
                idle_timeout=s.idle_timeout,
                verify=s.grok_ca_file or True,
            )
            self._web = GrokWeb(
                base_url=s.grok_base_url,
                browser=self._browser,
                egresses=self.egress_pool(),
                deadline=s.request_deadline,
                connect_timeout=s.connect_timeout,
            )
        return self._web
