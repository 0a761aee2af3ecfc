"""What grokgate sends to grok.com: cookies (§2.1), headers (§2.2) and the chat body (§3.1)."""

from __future__ import annotations

import uuid

import pytest

from grokgate.upstream.grokweb.request import (
    CHAT_PATH,
    ORIGIN,
    api_headers,
    chat_body,
    cookie_header,
)

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Safari/537.36"
)
CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/146.0.0.0 Safari/537.36"
)
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Mobile Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)

# §3.1, in the order built (customPersonality only with a custom instruction: not sent)
BODY_KEYS = [
    "collectionIds",
    "connectors",
    "deviceEnvInfo",
    "disableMemory",
    "disableSearch",
    "disableSelfHarmShortCircuit",
    "disableTextFollowUps",
    "enableImageGeneration",
    "enableImageStreaming",
    "enableSideBySide",
    "fileAttachments",
    "forceConcise",
    "forceSideBySide",
    "imageAttachments",
    "imageGenerationCount",
    "isAsyncChat",
    "message",
    "modeId",
    "responseMetadata",
    "returnImageBytes",
    "returnRawGrokInXaiRequest",
    "searchAllConnectors",
    "sendFinalMetadata",
    "temporary",
    "toolOverrides",
]


def test_paths() -> None:
    assert CHAT_PATH == "/rest/app-chat/conversations/new"
    assert ORIGIN == "https://grok.com"


# --- chat body -------------------------------------------------------------------------------


def test_chat_body_has_exactly_the_keys_in_order() -> None:
    body = chat_body("[user]: Hello", "auto")
    assert list(body) == BODY_KEYS
    assert "customPersonality" not in body


def test_chat_body_defaults() -> None:
    body = chat_body("[system]: You are ...\n\n[user]: Hello", "expert")
    assert body == {
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
        "fileAttachments": [],
        "forceConcise": False,
        "forceSideBySide": False,
        "imageAttachments": [],
        "imageGenerationCount": 2,
        "isAsyncChat": False,
        "message": "[system]: You are ...\n\n[user]: Hello",
        "modeId": "expert",
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
    assert list(body["deviceEnvInfo"]) == [
        "darkModeEnabled",
        "devicePixelRatio",
        "screenHeight",
        "screenWidth",
        "viewportHeight",
        "viewportWidth",
    ]
    assert list(body["toolOverrides"]) == [
        "gmailSearch",
        "googleCalendarSearch",
        "outlookSearch",
        "outlookCalendarSearch",
        "googleDriveSearch",
    ]


@pytest.mark.parametrize("mode", ["auto", "fast", "expert", "heavy", "grok-420-computer-use-sa"])
def test_chat_body_mode_and_message(mode: str) -> None:
    body = chat_body("hi ✓", mode)
    assert body["modeId"] == mode
    assert body["message"] == "hi ✓"


def test_chat_body_file_attachments_are_copied() -> None:
    ids = ["file_meta_1", "file_meta_2"]
    body = chat_body("x", "auto", ids)
    assert body["fileAttachments"] == ids
    assert body["fileAttachments"] is not ids
    ids.append("later")
    assert body["fileAttachments"] == ["file_meta_1", "file_meta_2"]


def test_chat_bodies_share_no_mutable_state() -> None:
    a = chat_body("a", "auto")
    a["collectionIds"].append("x")
    a["deviceEnvInfo"]["screenHeight"] = 1
    a["toolOverrides"]["gmailSearch"] = True
    b = chat_body("b", "auto")
    assert b["collectionIds"] == []
    assert b["deviceEnvInfo"]["screenHeight"] == 1329
    assert b["toolOverrides"]["gmailSearch"] is False


# --- cookies ---------------------------------------------------------------------------------


def test_cookie_header_sso_only() -> None:
    assert cookie_header("T") == "sso=T; sso-rw=T"
    assert cookie_header("eyJabc.def", None) == "sso=eyJabc.def; sso-rw=eyJabc.def"
    assert cookie_header("T", "") == "sso=T; sso-rw=T"


def test_cookie_header_with_cloudflare_cookies() -> None:
    got = cookie_header("T", "cf_clearance=abc; __cf_bm=def")
    assert got == "sso=T; sso-rw=T; cf_clearance=abc; __cf_bm=def"
    messy = cookie_header("T", " cf_clearance=abc ;;  __cf_bm=def; ")
    assert messy == "sso=T; sso-rw=T; cf_clearance=abc; __cf_bm=def"


# --- headers ---------------------------------------------------------------------------------


def _headers(ua: str = CHROME_MAC, **kw: str) -> dict[str, str]:
    return api_headers(cookie="sso=T; sso-rw=T", statsig="SIG", user_agent=ua, **kw)


def test_api_headers_have_every_section_2_2_header() -> None:
    h = _headers()
    expected = {
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate, br, zstd",
        "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
        "Baggage": "sentry-environment=production,"
        "sentry-release=d6add6fb0460641fd482d767a335ef72b9b6abb8,"
        "sentry-public_key=b311e0f2690c81f25e2c4cf6d4f7ce1c",
        "Content-Type": "application/json",
        "Origin": "https://grok.com",
        "Priority": "u=1, i",
        "Referer": "https://grok.com/",
        "Sec-Fetch-Dest": "empty",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Site": "same-origin",
        "User-Agent": CHROME_MAC,
        "x-statsig-id": "SIG",
        "Cookie": "sso=T; sso-rw=T",
    }
    for name, value in expected.items():
        assert h[name] == value, name
    assert "sentry-trace" not in {k.lower() for k in h}


def test_request_id_is_a_fresh_v4_uuid_per_call() -> None:
    ids = [_headers()["x-xai-request-id"] for _ in range(20)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert str(parsed) == value
    assert len(set(ids)) == 20


def test_referer_can_be_changed() -> None:
    assert _headers(referer="https://grok.com/imagine")["Referer"] == "https://grok.com/imagine"


@pytest.mark.parametrize(
    ("ua", "major", "platform"),
    [
        (CHROME_MAC, "136", '"macOS"'),
        (CHROME_WIN, "146", '"Windows"'),
        (CHROME_LINUX, "120", '"Linux"'),
    ],
)
def test_chromium_client_hints_are_derived_from_the_ua(ua: str, major: str, platform: str) -> None:
    h = _headers(ua)
    assert f'"Chromium";v="{major}"' in h["Sec-Ch-Ua"]
    assert f'"Google Chrome";v="{major}"' in h["Sec-Ch-Ua"]
    assert h["Sec-Ch-Ua-Mobile"] == "?0"
    assert h["Sec-Ch-Ua-Platform"] == platform


def test_mobile_chromium_ua_gives_mobile_client_hints() -> None:
    h = _headers(CHROME_ANDROID)
    assert '"Chromium";v="136"' in h["Sec-Ch-Ua"]
    assert h["Sec-Ch-Ua-Mobile"] == "?1"
    assert h["Sec-Ch-Ua-Platform"] == '"Android"'


@pytest.mark.parametrize("ua", [FIREFOX, SAFARI, "curl/8.0"])
def test_no_client_hints_for_a_non_chromium_ua(ua: str) -> None:
    h = _headers(ua)
    assert not [k for k in h if k.lower().startswith("sec-ch-ua")]
    assert h["User-Agent"] == ua
