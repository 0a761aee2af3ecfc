"""grok.com's user id of an account: ``GET /api/auth/session`` (docs/grok-protocol.md §5.1).

The WebSocket gateway names the user in its URL (``?uid=``) and in the ``x-userid`` cookie. The
session answer is HTTP 200 in every case known (§5.1): ``status`` says whether the cookies
belong to a live account (``authenticated``), to nobody (``unauthenticated``, which means what a
401 means) or to a blocked account (``blocked``).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from grokgate.errors import TransportTimeoutError, UpstreamError, UpstreamTimeoutError, Verdict
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress
from grokgate.upstream.browser.profiles import Fingerprint
from grokgate.upstream.grokweb.classify import error_of
from grokgate.upstream.grokweb.request import api_headers
from grokgate.upstream.grokweb.web import GrokWeb
from grokgate.upstream.http import read_body

SESSION_PATH = "/api/auth/session"
SESSION_TIMEOUT = 15.0  # the whole call, connect to answer
SESSION_BODY_LIMIT = 64 * 1024
# A user id goes into a URL and a cookie: a uuid in practice, anything header-safe at most.
_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def valid_user_id(value: str) -> bool:
    """Whether ``value`` can go into the gateway's URL and cookie as it is."""
    return _USER_ID.fullmatch(value) is not None


def session_headers(*, cookie: str, fingerprint: Fingerprint) -> dict[str, str]:
    """The page's ``fetch()`` of its session: a JSON GET (no statsig, no body)."""
    headers = api_headers(cookie=cookie, statsig="", fingerprint=fingerprint, content_type=None)
    headers["accept"] = "application/json"
    return headers


def parse_session(raw: bytes) -> str:
    """The user id of a 200 session answer; :class:`UpstreamError` with a verdict otherwise."""
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise UpstreamError("grok.com's session answer is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamError("grok.com's session answer is not a JSON object")
    status = data.get("status")
    if status == "unauthenticated":
        raise UpstreamError(
            "grok.com does not know the account's session (unauthenticated)",
            verdict=Verdict.EXPIRED,
        )
    if status == "blocked":
        raise UpstreamError("grok.com has blocked the account", verdict=Verdict.BLOCKED)
    for section, key in (("session", "userId"), ("user", "id")):
        part = data.get(section)
        value = part.get(key) if isinstance(part, dict) else None
        if isinstance(value, str) and value:
            if not valid_user_id(value):
                raise UpstreamError("grok.com's session answer has a malformed user id")
            return value
    raise UpstreamError("grok.com's session answer names no user id")


async def fetch_user_id(web: GrokWeb, account: Account, *, seconds: float = SESSION_TIMEOUT) -> str:
    """grok.com's user id of ``account`` (``session.userId``, else ``user.id``).

    Raises :class:`UpstreamError` with a verdict on the account: ``unauthenticated`` → EXPIRED,
    ``blocked`` → BLOCKED, a non-200 answer as any grok.com answer (``classify_http``), an
    unusable answer or a missing id → UNAVAILABLE. The whole call is bounded by ``seconds``."""

    def headers(through: Egress) -> dict[str, str]:
        return session_headers(cookie=web.cookie(account, through), fingerprint=through.fingerprint)

    try:
        async with asyncio.timeout(seconds):
            egress = await web.egress(account)
            url = web.base_url + SESSION_PATH
            async with web.open(egress, "GET", url, headers=headers, seconds=seconds) as response:
                if response.status_code != 200:
                    raise await error_of(response, None)
                raw = await read_body(
                    response,
                    SESSION_BODY_LIMIT,
                    too_large="grok.com's session answer is too large",
                )
    except (TimeoutError, TransportTimeoutError) as exc:
        raise UpstreamTimeoutError("grok.com did not answer the session query in time") from exc
    return parse_session(raw)
