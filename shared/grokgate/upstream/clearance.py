"""Cloudflare clearance per egress: the cookies, and the User-Agent they were issued to.

Cloudflare binds ``cf_clearance`` to the address, the User-Agent and the TLS fingerprint that
earned it, so a clearance belongs to one egress, and requests through that egress must then
say they are that User-Agent with the Chrome profile of its version. Where one comes from, first
match wins:

1. the store (key ``clearance:<egress>``), shared by every instance: what FlareSolverr earned
   (read only where FlareSolverr is configured, so no other setup pays a store read for it);
2. ``GROKGATE_CLEARANCES`` (JSON, per egress);
3. ``GROKGATE_CF_COOKIES`` with ``GROKGATE_USER_AGENT``, when there is a single egress.

With ``GROKGATE_FLARESOLVERR_URL`` set, a Cloudflare challenge through an egress makes one solve
for that egress (single-flight: concurrent challenges wait for it), at most once per
``clearance_retry_seconds``; the new bundle goes to the store, so every instance uses it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from grokgate.errors import UpstreamError, Verdict
from grokgate.logs import clip, get_logger, register_cookies
from grokgate.stores.base import AccountStore
from grokgate.upstream.browser.api import Egress
from grokgate.upstream.browser.profiles import Fingerprint, chrome_major, profile_for

log = get_logger("clearance")
CACHE_SECONDS = 5.0  # how stale an instance's copy of a stored clearance may get


@dataclass(frozen=True, slots=True)
class Clearance:
    cookies: str
    user_agent: str
    obtained_at: float = 0.0
    source: str = "config"

    def to_doc(self) -> dict[str, Any]:
        return {
            "cookies": self.cookies,
            "user_agent": self.user_agent,
            "obtained_at": self.obtained_at,
            "source": self.source,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], source: str = "config") -> Clearance:
        cookies, ua = doc.get("cookies"), doc.get("user_agent")
        if not isinstance(cookies, str) or not cookies or not isinstance(ua, str) or not ua:
            raise ValueError("a clearance needs non-empty 'cookies' and 'user_agent' strings")
        if chrome_major(ua) is None:
            raise ValueError("a clearance's user_agent must be a Chrome User-Agent")
        return cls(cookies, ua, float(doc.get("obtained_at") or 0.0), doc.get("source", source))


def parse_clearances(raw: str | None) -> dict[str, Clearance]:
    """``GROKGATE_CLEARANCES``: ``{"<egress>": {"cookies": …, "user_agent": …}}``."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError("GROKGATE_CLEARANCES is not JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("GROKGATE_CLEARANCES must be a JSON object keyed by egress")
    out = {}
    for key, doc in data.items():
        if not isinstance(doc, dict):
            raise ValueError(f"GROKGATE_CLEARANCES[{key!r}] must be an object")
        out[str(key)] = Clearance.from_doc(doc)
    return out


def store_key(egress: str) -> str:
    return f"clearance:{egress}"


class Solver(Protocol):
    async def solve(self, proxy: str | None) -> Clearance: ...


class ClearanceBook:
    """The clearance of each egress (module docstring)."""

    def __init__(
        self,
        *,
        store: AccountStore,
        fingerprint: Fingerprint,
        single_cookies: str | None = None,
        configured: Mapping[str, Clearance] | None = None,
        solver: Solver | None = None,
        retry_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.single_cookies = single_cookies
        self.configured = dict(configured or {})
        self.solver = solver
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, Clearance | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tried_at: dict[str, float] = {}
        self.solves = 0
        if single_cookies:
            register_cookies(single_cookies)
        for clearance in self.configured.values():
            register_cookies(clearance.cookies)

    async def lookup(self, key: str) -> Clearance | None:
        """The clearance of egress ``key`` (store, then configuration), cached briefly."""
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        doc = await self.store.get_value(store_key(key)) if self.solver is not None else None
        found: Clearance | None = None
        if doc is not None:
            try:
                found = Clearance.from_doc(doc, source="store")
            except ValueError as exc:
                log.warning("the stored clearance of egress %s is unusable: %s", key, exc)
        found = found or self.configured.get(key)
        if found is not None:
            register_cookies(found.cookies)
        self._cache[key] = (now + CACHE_SECONDS, found)
        return found

    async def current(self, key: str, *, single: bool) -> tuple[Fingerprint, str | None]:
        """The fingerprint and Cloudflare cookies to use through egress ``key``."""
        found = await self.lookup(key)
        if found is not None:
            return _fingerprint_of(found.user_agent, self.fingerprint), found.cookies
        return self.fingerprint, self.single_cookies if single else None

    async def put(self, key: str, clearance: Clearance) -> None:
        register_cookies(clearance.cookies)
        await self.store.put_value(store_key(key), clearance.to_doc())
        self._cache[key] = (self.clock() + CACHE_SECONDS, clearance)

    async def renew(self, egress: Egress) -> bool:
        """After a Cloudflare challenge through ``egress``: whether a newer clearance than the
        one it carried is now in place (solving one with FlareSolverr, once for concurrent
        callers, and not again within ``retry_seconds``)."""
        if self.solver is None:
            return False
        lock = self._locks.setdefault(egress.key, asyncio.Lock())
        async with lock:
            self._cache.pop(egress.key, None)
            latest = await self.lookup(egress.key)
            if latest is not None and latest.cookies != egress.cf_cookies:
                return True  # solved meanwhile (here, or by another instance)
            tried = self._tried_at.get(egress.key)
            if tried is not None and self.clock() - tried < self.retry_seconds:
                return False
            self._tried_at[egress.key] = self.clock()
            self.solves += 1
            log.warning("Cloudflare challenged egress %s; asking FlareSolverr", egress.key)
            try:
                clearance = await self.solver.solve(egress.proxy)
            except UpstreamError as exc:
                log.error("FlareSolverr could not clear egress %s: %s", egress.key, exc.message)
                return False
            await self.put(egress.key, clearance)
            log.info(
                "egress %s cleared (Chrome %s)", egress.key, chrome_major(clearance.user_agent)
            )
            return True


def _fingerprint_of(user_agent: str, base: Fingerprint) -> Fingerprint:
    """The Chrome profile for a clearance's UA: its own major, else the nearest one."""
    if user_agent == base.user_agent:
        return base
    profile = profile_for(user_agent) or base.profile
    return Fingerprint(profile, user_agent)


class FlareSolverr:
    """A FlareSolverr v1 client (``POST {url}/v1``, ``request.get``) over httpx."""

    def __init__(self, url: str, *, target: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/") + "/v1"
        self.target = target
        self.timeout = timeout

    async def solve(self, proxy: str | None) -> Clearance:
        import httpx

        body: dict[str, Any] = {
            "cmd": "request.get",
            "url": self.target,
            "maxTimeout": int(self.timeout * 1000),
        }
        if proxy:
            body["proxy"] = _flaresolverr_proxy(proxy)
        try:
            async with httpx.AsyncClient(timeout=self.timeout + 10, trust_env=False) as http:
                response = await http.post(self.url, json=body)
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(
                f"FlareSolverr did not answer ({type(exc).__name__})", verdict=Verdict.CHALLENGED
            ) from exc
        solution = data.get("solution") if isinstance(data, dict) else None
        if not isinstance(solution, dict) or data.get("status") != "ok":
            said = data.get("message") if isinstance(data, dict) else None
            raise UpstreamError(
                f"FlareSolverr failed: {clip(str(said), 200)}", verdict=Verdict.CHALLENGED
            )
        cookies = "; ".join(
            f"{c['name']}={c['value']}"
            for c in solution.get("cookies") or []
            if isinstance(c, dict) and c.get("name") and isinstance(c.get("value"), str)
        )
        ua = solution.get("userAgent")
        if not cookies or not isinstance(ua, str) or chrome_major(ua) is None:
            raise UpstreamError(
                "FlareSolverr's solution has no cookies or no Chrome User-Agent",
                verdict=Verdict.CHALLENGED,
            )
        register_cookies(cookies)
        return Clearance(cookies, ua, time.time(), source="flaresolverr")


def _flaresolverr_proxy(proxy: str) -> dict[str, str]:
    """FlareSolverr takes a proxy's credentials apart from its URL."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(proxy)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    out = {"url": f"{parts.scheme}://{netloc}"}
    if parts.username:
        out["username"] = unquote(parts.username)
        out["password"] = unquote(parts.password or "")
    return out
