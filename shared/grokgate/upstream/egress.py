"""Where each grok.com account's traffic leaves from: one sticky egress per account.

With ``GROKGATE_PROXIES`` set, every grok.com account is pinned to one proxy, and the pin lives
in the account's record (``egress``: the proxy's ``host:port``, never its credentials), so every
instance (Lambda, several local processes) sends that account's chat, uploads, downloads,
WebSockets and quota reads from the same address. A new account gets the proxy that rendezvous
hashing picks among the live ones, which every instance computes alike, so two instances pinning
the same account at once agree.

A proxy that fails (refused, 407, a tunnel error, a timeout at the proxy) rests for
``proxy_rest_seconds``: accounts pinned to it go to the back of the selector's queue and a
request made on one of them fails at once with an :class:`~grokgate.errors.EgressError`, which
the pool does not hold against the account, so the request moves to another account. After
``proxy_dead_after`` failures in a row the proxy is declared dead (for ``proxy_dead_seconds``)
and its accounts are re-pinned to a live proxy on their next use. Each instance learns a
proxy's health on its own; the pins are shared.

Without proxies every account uses the direct egress and nothing is pinned.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grokgate.errors import EgressError
from grokgate.logs import get_logger, register_secret
from grokgate.stores.base import AccountStore
from grokgate.stores.records import Account, AccountKind
from grokgate.stores.transitions import Feedback
from grokgate.upstream.browser.api import DIRECT, Egress
from grokgate.upstream.clearance import ClearanceBook

log = get_logger("egress")


def proxy_key(url: str) -> str:
    """A proxy's name: ``host:port`` of its URL (what the store, logs and errors show)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "socks5", "socks5h", "socks4", "socks4a"):
        raise ValueError(
            "GROKGATE_PROXIES takes http://, https://, socks5:// or socks5h:// URLs; "
            f"got one with the scheme {parts.scheme!r}"
        )
    if not parts.hostname:
        raise ValueError("GROKGATE_PROXIES has a URL without a host")
    default = {"http": 80, "https": 443}.get(parts.scheme, 1080)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or default}"


@dataclass
class ProxyState:
    key: str
    url: str = field(repr=False)
    failures: int = 0  # in a row
    resting_until: float = 0.0
    dead_until: float = 0.0
    last_error: str | None = None

    def dead(self, now: float) -> bool:
        return self.dead_until > now

    def resting(self, now: float) -> bool:
        return self.resting_until > now


class EgressPool:
    """The egress of each account, the proxies' health, and the clearance of each egress."""

    def __init__(
        self,
        *,
        proxies: Sequence[str],
        store: AccountStore,
        clearances: ClearanceBook,
        rest_seconds: float = 30.0,
        dead_after: int = 3,
        dead_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clearances = clearances
        self.rest_seconds = rest_seconds
        self.dead_after = dead_after
        self.dead_seconds = dead_seconds
        self.clock = clock
        self._proxies: dict[str, ProxyState] = {}
        for url in proxies:
            register_secret(url)
            key = proxy_key(url)
            if key in self._proxies:
                raise ValueError(f"GROKGATE_PROXIES names the proxy {key} twice")
            self._proxies[key] = ProxyState(key, url)

    @property
    def keys(self) -> list[str]:
        """Every egress this instance may use."""
        return list(self._proxies) or [DIRECT]

    def states(self) -> list[ProxyState]:
        return list(self._proxies.values())

    # --- choosing -------------------------------------------------------------------------

    async def for_account(self, account: Account) -> Egress:
        """The egress ``account`` uses now (pinning or moving it in the store as needed), with
        that egress's clearance; :class:`EgressError` while its proxy rests."""
        key = await self._pin(account)
        state = self._proxies.get(key)
        if state is not None and state.resting(self.clock()) and not state.dead(self.clock()):
            raise EgressError(
                f"the egress proxy {key} is resting after a failure ({state.last_error})",
                egress=key,
            )
        return await self.egress(key)

    async def egress(self, key: str) -> Egress:
        """The :class:`Egress` named ``key`` (``direct`` or a proxy), with its clearance."""
        state = self._proxies.get(key)
        fingerprint, cookies = await self.clearances.current(key, single=len(self.keys) == 1)
        return Egress(
            fingerprint=fingerprint,
            key=key,
            proxy=state.url if state is not None else None,
            cf_cookies=cookies,
        )

    async def renew(self, egress: Egress) -> bool:
        """After a Cloudflare challenge through ``egress``: whether a newer clearance is in
        place (:meth:`ClearanceBook.renew`)."""
        return await self.clearances.renew(egress)

    def resting(self, account: Account) -> bool:
        """Whether ``account``'s proxy is resting (the selector tries it last). A dead proxy's
        accounts are not held back: their next use moves them to a live proxy."""
        state = self._proxies.get(account.egress or "")
        now = self.clock()
        return state is not None and state.resting(now) and not state.dead(now)

    async def _pin(self, account: Account) -> str:
        if not self._proxies or account.kind is not AccountKind.GROK_WEB:
            return DIRECT
        now = self.clock()
        current = self._proxies.get(account.egress or "")
        if current is not None and not current.dead(now):
            return current.key
        live = [s for s in self._proxies.values() if not s.dead(now)]
        if not live:
            raise EgressError(
                "every egress proxy is dead; check GROKGATE_PROXIES",
                egress=account.egress or DIRECT,
            )
        rested = [s for s in live if not s.resting(now)] or live
        chosen = max(rested, key=lambda s: _weight(account.id, s.key)).key
        await self.store.record(account.id, Feedback(egress=chosen))
        if account.egress:
            log.warning(
                "account %s moved from dead proxy %s to %s", account.id, account.egress, chosen
            )
        else:
            log.info("account %s pinned to egress %s", account.id, chosen)
        return chosen

    # --- learning -------------------------------------------------------------------------

    def failed(self, error: EgressError) -> None:
        """Rest the proxy ``error`` names; declare it dead after too many failures in a row."""
        state = self._proxies.get(error.egress)
        if state is None:
            return
        now = self.clock()
        state.failures += 1
        state.last_error = error.message
        state.resting_until = now + self.rest_seconds
        if state.failures >= self.dead_after and not state.dead(now):
            state.dead_until = now + self.dead_seconds
            log.warning(
                "egress proxy %s declared dead after %d failures in a row (%s); its "
                "accounts move to live proxies",
                state.key,
                state.failures,
                error.message,
            )
        else:
            log.warning(
                "egress proxy %s rests %g s: %s", state.key, self.rest_seconds, error.message
            )

    def succeeded(self, key: str) -> None:
        """The proxy carried a request: its run of failures is over."""
        state = self._proxies.get(key)
        if state is not None and state.failures:
            state.failures = 0
            state.resting_until = state.dead_until = 0.0
            state.last_error = None


def _weight(account_id: str, key: str) -> int:
    """Rendezvous hashing: the live proxy with the highest weight is the account's."""
    return int.from_bytes(hashlib.sha256(f"{account_id}|{key}".encode()).digest()[:8], "big")
