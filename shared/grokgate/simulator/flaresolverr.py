"""A fake FlareSolverr (its v1 API) that "solves" through curl_cffi instead of a browser.

Usage::

    fake = FakeFlareSolverr(ca_file=server.ca_file, delay=0.2)
    with fake.serve() as solver:                       # a ServerThread: solver.url
        httpx.post(f"{solver.url}/v1", json={"cmd": "request.get", "url": "https://grok.com",
                                             "proxy": {"url": proxy.url}})
    fake.records[-1].proxy, fake.max_in_flight

``POST /v1`` with ``cmd`` ``request.get``: real FlareSolverr drives Chrome through ``proxy`` to
``url`` and waits out the challenge. The fake sends one ``GET {origin of url}{solve_path}``
(default ``/cdn-cgi/challenge-platform/solve``) through that proxy with curl_cffi
(``impersonate``, default ``chrome146``, and exactly ``user_agent`` as User-Agent), trusting
``ca_file``, and answers with the cookies that response set (every ``Set-Cookie``, in the CDP
cookie shape: name, value, domain, path, expires, size, httpOnly, secure, session, sameSite)
and ``user_agent``. A response without ``cf_clearance`` gives "Challenge not detected!"; a 403
gives FlareSolverr's "Cloudflare has blocked this request" error. Errors are HTTP 500 with
``{"status": "error", "message": "Error: …"}``, with FlareSolverr's messages (unknown or missing
``cmd``, missing ``url``, ``Timeout after N seconds`` once ``maxTimeout`` ms pass, a browser
error). Sessions and ``request.post`` are not imitated (they answer the unknown-cmd error).

Knobs (attributes, settable at any time): ``delay`` seconds before the solve (concurrent
requests pile up: ``in_flight``/``max_in_flight``); ``fail`` a message every solve fails with
(``fail_times`` limits it to the next N solves). ``records`` holds one :class:`SolveRecord` per
``request.get``. ``GET /`` and ``GET /health`` answer as FlareSolverr does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from grokgate.simulator.server import ServerThread

__all__ = [
    "CHROME146_USER_AGENT",
    "SOLVE_PATH",
    "FakeFlareSolverr",
    "SolveRecord",
    "parse_set_cookie",
]

CHROME146_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36"
)
SOLVE_PATH = "/cdn-cgi/challenge-platform/solve"
BLOCKED = (
    "Cloudflare has blocked this request. "
    "Probably your IP is banned for this site, check in your web browser."
)


@dataclass
class SolveRecord:
    """One ``request.get``: what was asked and how it ended."""

    url: str
    proxy: str | None
    max_timeout: int
    started: float = field(default_factory=time.time)
    ended: float | None = None
    outcome: str = "pending"  # ok, error
    message: str = ""
    status: int | None = None  # the solve endpoint's HTTP status
    cookies: list[str] = field(default_factory=list)  # names of the cookies returned


class SolveError(Exception):
    """A failure answered as ``Error: …`` (HTTP 500)."""


class FakeFlareSolverr:
    """The fake's configuration, knobs and records; ``app`` is its ASGI app (FastAPI)."""

    def __init__(
        self,
        *,
        impersonate: str = "chrome146",
        user_agent: str = CHROME146_USER_AGENT,
        ca_file: str | None = None,
        solve_path: str = SOLVE_PATH,
        delay: float = 0.0,
        fail: str | None = None,
        fail_times: int | None = None,
        version: str = "3.4.0",
    ) -> None:
        self.impersonate = impersonate
        self.user_agent = user_agent
        self.ca_file = ca_file
        self.solve_path = solve_path
        self.delay = delay
        self.fail = fail
        self.fail_times = fail_times
        self.version = version
        self.records: list[SolveRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._app: FastAPI | None = None

    @property
    def app(self) -> FastAPI:
        if self._app is None:
            self._app = self._create_app()
        return self._app

    def serve(self, **kwargs: Any) -> ServerThread:
        """A ServerThread for this fake (``with fake.serve() as solver: solver.url``)."""
        from grokgate.simulator.server import ServerThread

        return ServerThread(self.app, **kwargs)

    def reset(self) -> None:
        """Forget the records and the failure/delay knobs (solves under way keep counting)."""
        self.records.clear()
        self.max_in_flight = self.in_flight
        self.delay, self.fail, self.fail_times = 0.0, None, None

    def _create_app(self) -> FastAPI:
        app = FastAPI(title="fake FlareSolverr", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/")
        async def index() -> dict[str, Any]:
            return {
                "msg": "FlareSolverr is ready!",
                "version": self.version,
                "userAgent": self.user_agent,
            }

        @app.get("/health")
        async def health() -> dict[str, Any]:
            return {"status": "ok"}

        @app.post("/v1")
        async def v1(request: Request) -> JSONResponse:
            started = int(time.time() * 1000)
            try:
                try:
                    payload = json.loads(await request.body())
                except ValueError:
                    raise SolveError("Request body is not valid JSON.") from None
                if not isinstance(payload, dict):
                    raise SolveError("Request body must be a JSON object.")
                body, code = await self.handle(payload), 200
            except SolveError as exc:
                body, code = {"status": "error", "message": f"Error: {exc}"}, 500
            body |= {"startTimestamp": started, "endTimestamp": int(time.time() * 1000)}
            return JSONResponse(body | {"version": self.version}, status_code=code)

        return app

    async def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The body of a successful ``/v1`` answer; raises SolveError (an HTTP 500)."""
        cmd = payload.get("cmd")
        if cmd is None:
            raise SolveError("Request parameter 'cmd' is mandatory.")
        if cmd != "request.get":
            raise SolveError(f"Request parameter 'cmd' = '{cmd}' is invalid.")
        url = payload.get("url")
        if not isinstance(url, str) or not url:
            raise SolveError("Request parameter 'url' is mandatory in 'request.get' command.")
        if payload.get("postData") is not None:
            raise SolveError("Cannot use 'postBody' when sending a GET request.")
        try:
            max_timeout = int(payload.get("maxTimeout") or 60000)
        except (TypeError, ValueError):
            max_timeout = 60000
        max_timeout = max_timeout if max_timeout >= 1 else 60000
        record = SolveRecord(url, _proxy_url(payload.get("proxy")), max_timeout)
        self.records.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            timeout = max_timeout / 1000
            try:
                solution = await asyncio.wait_for(self._solve(record), timeout)
            except TimeoutError:
                raise SolveError(f"Timeout after {timeout} seconds.") from None
            except SolveError:
                raise
            except Exception as exc:  # the browser's error (curl_cffi here)
                raise SolveError(str(exc).replace("\n", "\\n")) from exc
        except SolveError as exc:
            record.outcome, record.message = "error", f"Error solving the challenge. {exc}"
            raise SolveError(record.message) from None
        finally:
            self.in_flight -= 1
            record.ended = time.time()
        solved = any(c["name"] == "cf_clearance" for c in solution["cookies"])
        record.outcome = "ok"
        record.message = "Challenge solved!" if solved else "Challenge not detected!"
        return {"status": "ok", "message": record.message, "solution": solution}

    async def _solve(self, record: SolveRecord) -> dict[str, Any]:
        from curl_cffi.requests import AsyncSession

        if self.delay > 0:
            await asyncio.sleep(self.delay)
        if self.fail is not None and (self.fail_times is None or self.fail_times > 0):
            if self.fail_times is not None:
                self.fail_times -= 1
            raise SolveError(self.fail)
        split = urlsplit(record.url)
        target = f"{split.scheme}://{split.netloc}{self.solve_path}"
        verify: str | bool = self.ca_file if self.ca_file is not None else True
        async with AsyncSession(
            impersonate=self.impersonate,  # type: ignore[arg-type]
            verify=verify,
            trust_env=False,
        ) as session:
            response = await session.get(
                target,
                proxy=record.proxy,
                headers={"User-Agent": self.user_agent},
                timeout=record.max_timeout / 1000,
            )
        record.status = response.status_code
        if response.status_code == 403:
            raise SolveError(BLOCKED)
        host = split.hostname or ""
        cookies = [
            parse_set_cookie(value, host)
            for value in response.headers.get_list("set-cookie")
            if value
        ]
        record.cookies = [c["name"] for c in cookies]
        return {
            "url": record.url,
            "status": response.status_code,
            "headers": {},
            "response": response.text,
            "cookies": cookies,
            "userAgent": self.user_agent,
        }


def _proxy_url(proxy: Any) -> str | None:
    """The proxy URL of a FlareSolverr ``proxy`` object (``url``, optional credentials)."""
    if not isinstance(proxy, dict) or not proxy.get("url"):
        return None
    url = str(proxy["url"])
    username, password = proxy.get("username"), proxy.get("password")
    if username and "@" not in url:
        scheme, _, rest = url.partition("://")
        credentials = quote(str(username), safe="") + ":" + quote(str(password or ""), safe="")
        url = f"{scheme}://{credentials}@{rest}"
    return url


def parse_set_cookie(header: str, host: str, now: float | None = None) -> dict[str, Any]:
    """One ``Set-Cookie`` value as a browser (CDP ``Network.Cookie``) reports the cookie."""
    pair, *attributes = header.split(";")
    name, _, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    attrs: dict[str, str] = {}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        attrs[key.strip().lower()] = val.strip()
    expires = -1.0
    if "max-age" in attrs:
        with contextlib.suppress(ValueError, TypeError, OverflowError):
            expires = (time.time() if now is None else now) + int(attrs["max-age"])
    elif "expires" in attrs:
        with contextlib.suppress(ValueError, TypeError, OverflowError):
            expires = parsedate_to_datetime(attrs["expires"]).timestamp()
    domain = attrs.get("domain", "").lstrip(".")
    cookie: dict[str, Any] = {
        "name": name,
        "value": value,
        "domain": f".{domain}" if domain else host,
        "path": attrs.get("path") or "/",
        "expires": expires,
        "size": len(name) + len(value),
        "httpOnly": "httponly" in attrs,
        "secure": "secure" in attrs,
        "session": expires == -1.0,
        "sameSite": (attrs.get("samesite") or "Lax").capitalize(),
    }
    if expires != -1.0:
        cookie["expiry"] = int(expires)  # Selenium's name, which FlareSolverr clients read
    return cookie
