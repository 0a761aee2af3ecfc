"""What grok.com's failures mean (docs/grok-protocol.md §8.5), as errors of grokgate's one tree.

Every upstream failure becomes an :class:`~grokgate.errors.UpstreamError` whose ``verdict`` tells
the pool what happened to the account, and whose message is safe to show a client (no body HTML,
no cookies; the upstream's own short message at most).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any, Protocol

import httpx

from grokgate.errors import UpstreamError, Verdict
from grokgate.logs import clip
from grokgate.upstream.http import body_of

_BLOCKED_MARKERS = ("blocked-user", "user is blocked", "account suspended")
_CREDENTIAL_MARKERS = (
    "invalid-credentials",
    "bad-credentials",
    "failed to look up session id",
    "email-domain-rejected",
    "session not found",
    "token revoked",
    "token expired",
)
_CHALLENGE_MARKERS = (
    "just a moment",
    "challenge-platform",
    "__cf_chl",
    "cf-chl-",
    "page is out of date",
)
MAX_RETRY_AFTER = 86400.0  # a day: no upstream hint may bench an account for longer
_RATE_MARKERS = ("too many requests", "rate limit", "usage limit", "usage quota")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _upstream_message(body: str) -> str | None:
    """The short ``message`` of a JSON error body, if the body is one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return clip(err["message"], 300)
        if isinstance(err, str):
            return clip(err, 300)
    return None


def _credential_verdict(text: str) -> Verdict | None:
    low = text.lower()
    if any(m in low for m in _BLOCKED_MARKERS):
        return Verdict.BLOCKED
    if any(m in low for m in _CREDENTIAL_MARKERS):
        return Verdict.EXPIRED
    return None


def account_verdict(message: str) -> Verdict | None:
    """BLOCKED or EXPIRED when an upstream message names a blocked or dead account (§8.5)."""
    return _credential_verdict(message)


def _anti_bot(text: str) -> bool:
    low = text.lower()
    return "anti-bot" in low or '"code":7' in low.replace(" ", "")


def classify_http(status: int, headers: Mapping[str, str], body: str) -> UpstreamError:
    """The error for a non-200 answer of grok.com."""
    detail = _upstream_message(body)
    said = f": {detail}" if detail else ""
    low = body.lower()
    credential = _credential_verdict(body) if status in (400, 401, 403) else None
    if status == 401 or credential is Verdict.EXPIRED:
        return UpstreamError(
            f"grok.com rejected the account's credentials (HTTP {status}){said}",
            upstream_status=status,
            verdict=Verdict.EXPIRED,
        )
    if credential is Verdict.BLOCKED:
        return UpstreamError(
            f"grok.com has blocked the account (HTTP {status}){said}",
            upstream_status=status,
            verdict=Verdict.BLOCKED,
        )
    if status == 403:
        challenged = (
            headers.get("cf-mitigated", "").lower() == "challenge"
            or not body.strip()
            or "<html" in low
            or any(m in low for m in _CHALLENGE_MARKERS)
        )
        if challenged:
            return UpstreamError(
                "grok.com answered a Cloudflare challenge (HTTP 403); check cf_cookies, "
                "user agent and egress IP",
                upstream_status=403,
                verdict=Verdict.CHALLENGED,
                code="upstream_challenge",
            )
        if _anti_bot(body):
            return UpstreamError(
                f"grok.com rejected the request by its anti-bot rules (HTTP 403){said}; "
                "check the x-statsig-id constants",
                upstream_status=403,
                verdict=Verdict.CHALLENGED,
                code="upstream_anti_bot",
            )
        return UpstreamError(f"grok.com refused the request (HTTP 403){said}", upstream_status=403)
    if status == 429:
        return UpstreamError(
            f"grok.com rate limited the account (HTTP 429){said}",
            upstream_status=429,
            verdict=Verdict.RATE_LIMITED,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if status >= 500:
        return UpstreamError(f"grok.com failed (HTTP {status}){said}", upstream_status=status)
    return UpstreamError(
        f"grok.com rejected the request (HTTP {status}){said}",
        upstream_status=status,
        retryable=False,
    )


def classify_inband(error: Any, *, nested: bool) -> UpstreamError:
    """The error for an error frame inside a 200 stream.

    ``nested`` is True for ``result.response.error`` and False for a top-level ``error``.
    """
    err: dict[str, Any] = error if isinstance(error, dict) else {"message": str(error)}
    message = clip(str(err.get("message") or "unknown error"), 300)
    code = err.get("code")
    low = message.lower()
    where = "in its stream"
    if nested and "modelNotAvailable" in err:
        return UpstreamError(
            f"grok.com says the mode is not available to this account: {message}",
            verdict=Verdict.MODE_UNAVAILABLE,
            code="upstream_mode_unavailable",
        )
    verdict = _credential_verdict(message)
    if verdict is None:
        if code == 7 or "anti-bot" in low:
            verdict = Verdict.CHALLENGED
        elif code == 8 or any(m in low for m in _RATE_MARKERS):
            verdict = Verdict.RATE_LIMITED
        else:
            verdict = Verdict.UNAVAILABLE
    return UpstreamError(f"grok.com reported an error {where}: {message}", verdict=verdict)


ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error answer read to classify it


class _Refusal(Protocol):  # websockets' handshake Response (InvalidStatus.response)
    status_code: int
    headers: Any
    body: bytes | None


def refusal_error(response: _Refusal) -> UpstreamError:
    """What a refused WebSocket handshake (an HTTP answer instead of the upgrade) means: the
    same as that HTTP answer (its body read up to :data:`ERROR_BODY_LIMIT`)."""
    body = (response.body or b"")[:ERROR_BODY_LIMIT].decode("utf-8", errors="replace")
    return classify_http(response.status_code, response.headers, body)


class _Answer(Protocol):
    status_code: int
    headers: Mapping[str, str]

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


async def error_of(response: _Answer, signer: Invalidates | None = None) -> UpstreamError:
    """The error a non-200 answer means (its body read up to :data:`ERROR_BODY_LIMIT`). A
    Cloudflare / anti-bot refusal also invalidates ``signer``'s cached ``x-statsig-id``."""
    raw = b""
    try:  # decoded only as far as it is read (a compressed bomb stops at the limit)
        async with aclosing(body_of(response)) as pieces:  # type: ignore[type-var]
            async for chunk in pieces:
                raw += chunk
                if len(raw) >= ERROR_BODY_LIMIT:
                    break
    except (httpx.HTTPError, UpstreamError):
        pass
    error = classify_http(
        response.status_code, response.headers, raw.decode("utf-8", errors="replace")
    )
    if signer is not None and error.verdict is Verdict.CHALLENGED:
        signer.invalidate()
    return error


class Invalidates(Protocol):
    def invalidate(self) -> None: ...
