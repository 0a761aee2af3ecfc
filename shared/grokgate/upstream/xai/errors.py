"""xAI API error answers → grokgate's error tree (docs/xai-api.md §4).

A client mistake (400, 404, 413, 422) keeps the upstream's status and message and is not retried:
another key would get the same answer. 401 means the key is dead; 429 means this key is rate
limited (``Retry-After`` honoured); 403, 498 (capacity) and 5xx mean try another key. Messages
are redacted: an echoed API key never reaches a client or a log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from grokgate.errors import UpstreamError, UpstreamRejectedError, Verdict
from grokgate.logs import redact
from grokgate.upstream.grokweb.classify import parse_retry_after

CLIENT_STATUSES = frozenset({400, 404, 405, 409, 413, 415, 422})
MESSAGE_LIMIT = 500


def message_of(body: bytes) -> str:
    """The human message of an xAI error body (OpenAI, Anthropic or ``{"error": "..."}``)."""
    text = body[:20_000].decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    message: object = None
    if isinstance(doc, dict):
        error = doc.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or doc.get("message")
    if not isinstance(message, str) or not message.strip():
        message = text.strip() or "no details"
    return redact(" ".join(message.split()))[:MESSAGE_LIMIT]


def code_of(body: bytes) -> str | None:
    try:
        doc = json.loads(body[:20_000])
    except ValueError:
        return None
    error = doc.get("error") if isinstance(doc, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if code is None and isinstance(doc, dict):
        code = doc.get("code")
    return str(code)[:64] if isinstance(code, str | int) and str(code) else None


def classify_xai(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    """The error for a non-2xx answer of the xAI API."""
    message = message_of(body)
    said = f"the xAI API answered {status}: {message}"
    if status in CLIENT_STATUSES:
        return UpstreamRejectedError(
            message, status=status, upstream_status=status, code=code_of(body)
        )
    if status == 401:
        return UpstreamError(said, upstream_status=status, verdict=Verdict.EXPIRED)
    if status == 429:
        return UpstreamError(
            said,
            upstream_status=status,
            verdict=Verdict.RATE_LIMITED,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    return UpstreamError(said, upstream_status=status, verdict=Verdict.UNAVAILABLE)
