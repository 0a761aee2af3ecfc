"""What grokgate sends to grok.com: cookies, headers (§2.1, §2.2) and the chat body (§3.1)."""

from __future__ import annotations

import re
import uuid
from typing import Any

CHAT_PATH = "/rest/app-chat/conversations/new"
RATE_LIMITS_PATH = "/rest/rate-limits"
ORIGIN = "https://grok.com"
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


def _client_hints(user_agent: str) -> dict[str, str]:
    match = re.search(r"Chrome/(\d+)", user_agent)
    if not match:
        return {}
    major = match.group(1)
    if "Android" in user_agent:
        platform = "Android"
    elif "iPhone" in user_agent or "iPad" in user_agent:
        platform = "iOS"
    elif "Mac OS" in user_agent:
        platform = "macOS"
    elif "Windows" in user_agent:
        platform = "Windows"
    else:
        platform = "Linux"
    return {
        "Sec-Ch-Ua": f'"Chromium";v="{major}", "Google Chrome";v="{major}", "Not.A/Brand";v="99"',
        "Sec-Ch-Ua-Mobile": "?1" if "Mobile" in user_agent else "?0",
        "Sec-Ch-Ua-Platform": f'"{platform}"',
    }


def api_headers(
    *, cookie: str, statsig: str, user_agent: str, referer: str = ORIGIN + "/"
) -> dict[str, str]:
    """Headers of a JSON call to grok.com, as the web client sends them (§2.2)."""
    headers = {
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate, br, zstd",
        "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
        "Baggage": _BAGGAGE,
        "Content-Type": "application/json",
        "Origin": ORIGIN,
        "Priority": "u=1, i",
        "Referer": referer,
        "Sec-Fetch-Dest": "empty",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Site": "same-origin",
        "User-Agent": user_agent,
        "x-statsig-id": statsig,
        "x-xai-request-id": str(uuid.uuid4()),
        "Cookie": cookie,
    }
    headers.update(_client_hints(user_agent))
    return headers


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
