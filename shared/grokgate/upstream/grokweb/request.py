"""What grokgate sends to grok.com: cookies, headers (docs/grok-protocol.md §2.1–§2.4) and the
chat body (§3.1)."""

from __future__ import annotations

import uuid
from typing import Any

from grokgate.upstream.browser.profiles import Fingerprint

CHAT_PATH = "/rest/app-chat/conversations/new"
RATE_LIMITS_PATH = "/rest/rate-limits"
ORIGIN = "https://grok.com"
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"
_BAGGAGE = (
    "sentry-environment=production,sentry-release=d6add6fb0460641fd482d767a335ef72b9b6abb8,"
    "sentry-public_key=b311e0f2690c81f25e2c4cf6d4f7ce1c"
)


def cookie_header(token: str, cf_cookies: str | None = None) -> str:
    """``sso=<tok>; sso-rw=<tok>`` plus the operator's Cloudflare cookies, if any."""
    parts = [f"sso={token}", f"sso-rw={token}"]
    if cf_cookies:
        parts.extend(p.strip() for p in cf_cookies.split(";") if p.strip())
    return "; ".join(parts)


def api_headers(
    *,
    cookie: str,
    statsig: str,
    fingerprint: Fingerprint,
    referer: str = ORIGIN + "/",
    content_type: str | None = "application/json",
) -> dict[str, str]:
    """Headers of a ``fetch()`` from grok.com's page (§2.2), in the order Chrome sends them:
    the client hints and the User-Agent of ``fingerprint`` (they always name the same Chrome
    version), the page's own headers, then the ``sec-fetch-*`` group and the rest. An empty
    ``statsig`` leaves out the page's own headers (uploads send none of them)."""
    hints = fingerprint.hints()
    headers = {"sec-ch-ua-platform": hints["sec-ch-ua-platform"]}
    headers["user-agent"] = fingerprint.user_agent
    headers["sec-ch-ua"] = hints["sec-ch-ua"]
    if content_type:
        headers["content-type"] = content_type
    headers["sec-ch-ua-mobile"] = hints["sec-ch-ua-mobile"]
    if statsig:
        headers["baggage"] = _BAGGAGE
        headers["x-statsig-id"] = statsig
        headers["x-xai-request-id"] = str(uuid.uuid4())
    headers.update(
        {
            "accept": "*/*",
            "origin": ORIGIN,
            "sec-fetch-site": "same-origin",
            "sec-fetch-mode": "cors",
            "sec-fetch-dest": "empty",
            "referer": referer,
            "accept-encoding": ACCEPT_ENCODING,
            "accept-language": ACCEPT_LANGUAGE,
        }
    )
    if cookie:
        headers["cookie"] = cookie
    headers["priority"] = "u=1, i"
    return headers


def navigate_headers(
    *, accept: str, fingerprint: Fingerprint, cookie: str | None
) -> dict[str, str]:
    """Headers of a page-level navigation (opening a media file; §2.3), in Chrome's order."""
    hints = fingerprint.hints()
    headers = {
        "sec-ch-ua": hints["sec-ch-ua"],
        "sec-ch-ua-mobile": hints["sec-ch-ua-mobile"],
        "sec-ch-ua-platform": hints["sec-ch-ua-platform"],
        "upgrade-insecure-requests": "1",
        "user-agent": fingerprint.user_agent,
        "accept": accept,
        "sec-fetch-site": "none",
        "sec-fetch-mode": "navigate",
        "sec-fetch-user": "?1",
        "sec-fetch-dest": "document",
        "accept-encoding": ACCEPT_ENCODING,
        "accept-language": ACCEPT_LANGUAGE,
    }
    if cookie:
        headers["cookie"] = cookie
    headers["priority"] = "u=0, i"
    return headers


def socket_headers(*, cookie: str, fingerprint: Fingerprint) -> dict[str, str]:
    """Headers of a WebSocket upgrade from grok.com's page, in Chrome's order (the upgrade's own
    ``Upgrade``/``Sec-WebSocket-*`` headers are the transport's)."""
    return {
        "pragma": "no-cache",
        "cache-control": "no-cache",
        "user-agent": fingerprint.user_agent,
        "origin": ORIGIN,
        "accept-encoding": ACCEPT_ENCODING,
        "accept-language": ACCEPT_LANGUAGE,
        "cookie": cookie,
    }


def chat_body(message: str, mode: str, file_ids: list[str] | None = None) -> dict[str, Any]:
    """The ``conversations/new`` body, every field in the browser's order (§3.1)."""
    return {
        "collectionIds": [],
        "connectors": [],
        "deviceEnvInfo": {
            "darkModeEnabled": False,
            "devicePixelRatio": 2,
            "screenHeight": 1329,
            "screenWidth": 2056,
            "viewportHeight": 1083,
            "viewportWidth": 2056,
        },
        "disableMemory": True,
        "disableSearch": False,
        "disableSelfHarmShortCircuit": False,
        "disableTextFollowUps": False,
        "enableImageGeneration": True,
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "fileAttachments": list(file_ids or []),
        "forceConcise": False,
        "forceSideBySide": False,
        "imageAttachments": [],
        "imageGenerationCount": 2,
        "isAsyncChat": False,
        "message": message,
        "modeId": mode,
        "responseMetadata": {},
        "returnImageBytes": False,
        "returnRawGrokInXaiRequest": False,
        "searchAllConnectors": False,
        "sendFinalMetadata": True,
        "temporary": True,
        "toolOverrides": {
            "gmailSearch": False,
            "googleCalendarSearch": False,
            "outlookSearch": False,
            "outlookCalendarSearch": False,
            "googleDriveSearch": False,
        },
    }
