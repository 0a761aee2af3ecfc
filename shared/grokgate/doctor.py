"""``grokgate doctor``: walk the chain to grok.com for one account, one line per step.

When a deployment stops answering, the cause is one of a handful: the egress (a dead proxy, a
refused address), the fingerprint, Cloudflare's clearance, the x-statsig-id pair, the SSO
cookie, a spent quota, or the WebSocket gateway. Each step below tries exactly that link with
one cheap call, through the account's own egress, and says OK or what is wrong and how to fix
it. A step whose prerequisite failed is skipped. For an xAI key: one models call.

The same checks back ``GET /admin/doctor`` (:mod:`grokgate.api.admin_routes`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from grokgate.errors import EgressError, TransportError, UpstreamError
from grokgate.stores.records import TIER_MODES, Account, AccountKind, Status
from grokgate.upstream.browser.api import Egress, HandshakeRefused
from grokgate.upstream.browser.profiles import PROFILES, chrome_major
from grokgate.upstream.grokweb.classify import ERROR_BODY_LIMIT, classify_http
from grokgate.upstream.grokweb.gateway import gateway_headers, mgw_url
from grokgate.upstream.grokweb.request import api_headers, navigate_headers
from grokgate.upstream.grokweb.session import SESSION_PATH, parse_session
from grokgate.upstream.http import read_capped

if TYPE_CHECKING:
    from grokgate.runtime import Runtime
    from grokgate.upstream.grokweb.web import GrokWeb

TRACE_PATH = "/cdn-cgi/trace"
MODE_ORDER = ("fast", "auto", "expert", "heavy")


@dataclass
class Check:
    step: str
    ok: bool
    detail: str
    fix: str | None = None
    skipped: bool = False

    def line(self) -> str:
        mark = "SKIP" if self.skipped else ("OK  " if self.ok else "FAIL")
        text = f"{mark} {self.step:<11} {self.detail}"
        return text + (f"\n     {'':<11} fix: {self.fix}" if self.fix else "")


@dataclass
class Report:
    account: str | None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok or c.skipped for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "ok": self.ok, "checks": [asdict(c) for c in self.checks]}


async def diagnose(rt: Runtime, account_id: str | None = None) -> Report:
    """The checks for ``account_id`` (else the first active grok.com account, else an xAI key)."""
    store = await rt.store()
    accounts = await store.list_accounts()
    if account_id is not None:
        chosen = [a for a in accounts if a.id == account_id]
    else:
        web = [a for a in accounts if a.kind is AccountKind.GROK_WEB]
        chosen = [a for a in web if a.status is Status.ACTIVE] or web or accounts
    if not chosen:
        what = f"no account {account_id}" if account_id else "the pool has no account"
        fix = "add one: grokgate accounts add …"
        return Report(account_id, [Check("account", False, what, fix)])
    account = chosen[0]
    if account.kind is AccountKind.XAI_API_KEY:
        return Report(account.id, [await _xai(rt, account)])
    return Report(account.id, await _grok(rt, account))


async def _xai(rt: Runtime, account: Account) -> Check:
    client = rt.xai_client()
    key = account.token.get_secret_value()
    try:
        answer = await client.http.get(
            client.base_url + "/v1/models", headers={"Authorization": f"Bearer {key}"}
        )
    except Exception as exc:
        return Check(
            "xai",
            False,
            f"the xAI API is unreachable ({type(exc).__name__})",
            "check GROKGATE_XAI_BASE_URL and the network",
        )
    if answer.status_code == 200:
        return Check("xai", True, "the key lists the xAI models")
    fix = (
        "replace the key (grokgate accounts add --xai …)"
        if answer.status_code in (401, 403)
        else None
    )
    return Check("xai", False, f"the xAI API answered HTTP {answer.status_code}", fix)


async def _grok(rt: Runtime, account: Account) -> list[Check]:
    web = rt.grok_web()
    checks: list[Check] = []
    egress = await _egress(web, account, checks)
    if egress is None:
        return _skip(checks, "fingerprint", "cloudflare", "cookie", "statsig", "quotas", "gateway")
    checks.append(_fingerprint(egress))
    session = await _cloudflare_and_cookie(rt, web, account, egress, checks)
    if session is None:
        return _skip(checks, "statsig", "quotas", "gateway")
    await _statsig_and_quotas(rt, account, checks)
    checks.append(await _gateway(web, account, egress, session))
    return checks


def _skip(checks: list[Check], *steps: str) -> list[Check]:
    for step in steps:
        checks.append(Check(step, False, "skipped: an earlier step failed", skipped=True))
    return checks


async def _egress(web: GrokWeb, account: Account, checks: list[Check]) -> Egress | None:
    try:
        egress = await web.egress(account)
        where = "direct" if egress.proxy is None else f"proxy {egress.key}"
        headers = lambda e: navigate_headers(  # noqa: E731
            accept="*/*", fingerprint=e.fingerprint, cookie=None
        )
        async with web.open(egress, "GET", web.base_url + TRACE_PATH, headers=headers) as answer:
            body = (await read_capped(answer, 4096)).decode("utf-8", "replace")
            status = answer.status_code
    except EgressError as exc:
        checks.append(
            Check(
                "egress",
                False,
                exc.message,
                "fix or replace that proxy in GROKGATE_PROXIES; after "
                "GROKGATE_PROXY_DEAD_AFTER failures its accounts move to another",
            )
        )
        return None
    except (TransportError, TimeoutError) as exc:
        message = exc.message if isinstance(exc, TransportError) else "timed out"
        checks.append(
            Check(
                "egress",
                False,
                f"grok.com is unreachable ({message})",
                "check the network (DNS, firewall) from this host",
            )
        )
        return None
    fields = dict(line.split("=", 1) for line in body.splitlines() if "=" in line)
    seen = f", grok.com sees {fields['ip']}" if status == 200 and "ip" in fields else ""
    checks.append(Check("egress", True, f"{where}{seen}"))
    return egress


def _fingerprint(egress: Egress) -> Check:
    fp = egress.fingerprint
    major = chrome_major(fp.user_agent)
    profile_major = chrome_major(PROFILES.get(fp.profile, ""))
    hints = fp.hints().get("sec-ch-ua", "")
    if major is None or major != profile_major or f'v="{major}"' not in hints:
        return Check(
            "fingerprint",
            False,
            f"{fp.profile} with UA {fp.user_agent!r}",
            "make GROKGATE_USER_AGENT a Chrome UA of the profile's version",
        )
    return Check("fingerprint", True, f"{fp.profile}, Chrome {major} UA and client hints agree")


async def _cloudflare_and_cookie(
    rt: Runtime, web: GrokWeb, account: Account, egress: Egress, checks: list[Check]
) -> str | None:
    """Cloudflare (challenged, blocked, or passed) and the SSO cookie, from one session query;
    the user id when both are fine."""

    def headers(through: Egress) -> dict[str, str]:
        h = api_headers(
            cookie=web.cookie(account, through),
            statsig="",
            fingerprint=through.fingerprint,
            content_type=None,
        )
        return {**h, "accept": "application/json"}

    try:
        async with web.open(egress, "GET", web.base_url + SESSION_PATH, headers=headers) as answer:
            status, answer_headers = answer.status_code, dict(answer.headers)
            raw = await read_capped(answer, ERROR_BODY_LIMIT)
    except UpstreamError as exc:  # a challenge no clearance passed (web.open says which egress)
        clearance = await _clearance_age(rt, egress)
        checks.append(
            Check(
                "cloudflare",
                False,
                exc.message.split(": refresh")[0] + clearance,
                "refresh that egress's clearance (GROKGATE_CF_COOKIES with its "
                "GROKGATE_USER_AGENT, GROKGATE_CLEARANCES) or set "
                "GROKGATE_FLARESOLVERR_URL",
            )
        )
        return None
    text = raw.decode("utf-8", "replace")
    cloudflare_page = status == 403 and (
        "text/html" in answer_headers.get("content-type", "")
        or answer_headers.get("server", "").lower() == "cloudflare"
    )
    if cloudflare_page:
        checks.append(
            Check(
                "cloudflare",
                False,
                f"Cloudflare blocked the connection through "
                f"{egress.key} (403 block page): the handshake or the address",
                "keep the default Chrome profile and use a clean (residential) "
                "egress: GROKGATE_PROXIES",
            )
        )
        return None
    clearance = await _clearance_age(rt, egress)
    checks.append(Check("cloudflare", True, f"passed{clearance}"))
    if status != 200:
        error = classify_http(status, answer_headers, text)
        checks.append(Check("cookie", False, error.message, _cookie_fix(error)))
        return None
    try:
        uid = parse_session(raw)
    except UpstreamError as exc:
        checks.append(Check("cookie", False, exc.message, _cookie_fix(exc)))
        return None
    checks.append(Check("cookie", True, f"session valid, user {uid}, tier {account.tier.value}"))
    return uid


def _cookie_fix(error: UpstreamError) -> str:
    if error.verdict.value == "blocked":
        return "grok.com blocked this account: remove it (grokgate accounts remove ID)"
    return "the SSO cookie is dead: log in again and add the new sso cookie, remove the old one"


async def _clearance_age(rt: Runtime, egress: Egress) -> str:
    found = await rt.egress_pool().clearances.lookup(egress.key)
    if found is None:
        return "" if egress.cf_cookies is None else " (clearance from the settings)"
    if not found.obtained_at:
        return f" (clearance from {found.source})"
    return f" (clearance {time.time() - found.obtained_at:.0f} s old, from {found.source})"


async def _statsig_and_quotas(rt: Runtime, account: Account, checks: list[Check]) -> None:
    client = rt.web_client()
    modes = [m for m in MODE_ORDER if m in TIER_MODES[account.tier]]
    spent: list[str] = []
    shown: list[str] = []
    for index, mode in enumerate(modes):
        try:
            limits = await client.rate_limits(account, mode)
        except UpstreamError as exc:
            if exc.code == "upstream_anti_bot":
                kind = rt.statsig_signer().kind
                checks.append(
                    Check(
                        "statsig",
                        False,
                        f"grok.com rejects the x-statsig-id (403 code 7; {kind})",
                        "grok.com shipped a new web build: grokgate statsig capture, "
                        "then grokgate statsig set",
                    )
                )
            else:
                checks.append(Check("statsig", False, f"the signed call failed: {exc.message}"))
            _skip(checks, "quotas")
            return
        if index == 0:
            checks.append(Check("statsig", True, f"accepted ({rt.statsig_signer().kind})"))
        left, total = limits.remaining_queries, limits.total_queries
        shown.append(f"{mode} {left if left is not None else '?'}/{total or '?'}")
        if left == 0:
            wait = limits.wait_time_seconds or limits.window_size_seconds
            spent.append(f"{mode} reopens in {wait / 3600:.1f} h")
    detail = ", ".join(shown)
    if spent:
        checks.append(
            Check(
                "quotas",
                False,
                f"{detail}; spent: {'; '.join(spent)}",
                "wait for the window, or add accounts of this tier",
            )
        )
    else:
        checks.append(Check("quotas", True, detail))


async def _gateway(web: GrokWeb, account: Account, egress: Egress, uid: str) -> Check:
    def headers(through: Egress) -> dict[str, str]:
        return gateway_headers(cookie=web.cookie(account, through), uid=uid, egress=through)

    try:
        socket = await web.socket(egress, mgw_url(web.base_url, uid), headers=headers)
    except HandshakeRefused as exc:
        error = classify_http(exc.status_code, exc.headers, exc.body.decode("utf-8", "replace"))
        return Check(
            "gateway",
            False,
            f"the WebSocket chat gateway refused the handshake: {error.message}",
            "GROKGATE_WEB_CHAT_TRANSPORT=auto falls back to REST; =rest uses REST only",
        )
    except UpstreamError as exc:
        return Check(
            "gateway",
            False,
            f"the WebSocket chat gateway did not open: {exc.message}",
            "GROKGATE_WEB_CHAT_TRANSPORT=auto falls back to REST",
        )
    await socket.close()
    return Check("gateway", True, "the WebSocket chat gateway accepts the handshake")
