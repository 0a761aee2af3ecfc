"""What grokgate sends to grok.com: cookies (docs/grok-protocol.md §2.1), headers (§2.2) and the
chat body (§3.1)."""

from __future__ import annotations

import uuid

import pytest

from grokgate.upstream.browser.profiles import PROFILES, Fingerprint
from grokgate.upstream.grokweb.request import (
    CHAT_PATH,
    ORIGIN,
    api_headers,
    chat_body,
    cookie_header,
    navigate_headers,
    socket_headers,
)
from tests.upstream.browser_support import FINGERPRINT

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


def _headers(fingerprint: Fingerprint = FINGERPRINT, **kw: str) -> dict[str, str]:
    return api_headers(cookie="sso=T; sso-rw=T", statsig="SIG", fingerprint=fingerprint, **kw)


def test_api_headers_have_every_section_2_2_header() -> None:
    h = _headers()
    expected = {
        "accept": "*/*",
        "accept-encoding": "gzip, deflate, br, zstd",
        "accept-language": "zh-CN,zh;q=0.9,en;q=0.8",
        "baggage": "sentry-environment=production,"
        "sentry-release=d6add6fb0460641fd482d767a335ef72b9b6abb8,"
        "sentry-public_key=b311e0f2690c81f25e2c4cf6d4f7ce1c",
        "content-type": "application/json",
        "origin": "https://grok.com",
        "priority": "u=1, i",
        "referer": "https://grok.com/",
        "sec-fetch-dest": "empty",
        "sec-fetch-mode": "cors",
        "sec-fetch-site": "same-origin",
        "user-agent": FINGERPRINT.user_agent,
        "x-statsig-id": "SIG",
        "cookie": "sso=T; sso-rw=T",
    }
    for name, value in expected.items():
        assert h[name] == value, name
    assert "sentry-trace" not in h


def test_api_headers_come_in_chromes_fetch_order() -> None:
    assert list(_headers()) == [
        "sec-ch-ua-platform",
        "user-agent",
        "sec-ch-ua",
        "content-type",
        "sec-ch-ua-mobile",
        "baggage",
        "x-statsig-id",
        "x-xai-request-id",
        "accept",
        "origin",
        "sec-fetch-site",
        "sec-fetch-mode",
        "sec-fetch-dest",
        "referer",
        "accept-encoding",
        "accept-language",
        "cookie",
        "priority",
    ]


def test_request_id_is_a_fresh_v4_uuid_per_call() -> None:
    ids = [_headers()["x-xai-request-id"] for _ in range(20)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert str(parsed) == value
    assert len(set(ids)) == 20


def test_referer_can_be_changed() -> None:
    assert _headers(referer="https://grok.com/imagine")["referer"] == "https://grok.com/imagine"


def test_without_statsig_the_page_headers_are_left_out() -> None:
    h = api_headers(cookie="c", statsig="", fingerprint=FINGERPRINT, content_type=None)
    assert not {"baggage", "x-statsig-id", "x-xai-request-id", "content-type"} & set(h)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_client_hints_name_the_user_agents_chrome(profile: str) -> None:
    fingerprint = Fingerprint(profile, PROFILES[profile])
    h = _headers(fingerprint)
    major = str(fingerprint.major)
    assert f'"Chromium";v="{major}"' in h["sec-ch-ua"]
    assert f'"Google Chrome";v="{major}"' in h["sec-ch-ua"]
    assert h["sec-ch-ua-mobile"] == "?0"
    assert h["sec-ch-ua-platform"] == ('"Windows"' if "Windows" in h["user-agent"] else '"macOS"')


def test_navigation_and_socket_headers_carry_the_same_chrome() -> None:
    nav = navigate_headers(accept="image/*", fingerprint=FINGERPRINT, cookie=None)
    assert nav["user-agent"] == FINGERPRINT.user_agent
    assert nav["sec-ch-ua"] == FINGERPRINT.hints()["sec-ch-ua"]
    assert "cookie" not in nav and "origin" not in nav
    ws = socket_headers(cookie="sso=T", fingerprint=FINGERPRINT)
    assert ws["user-agent"] == FINGERPRINT.user_agent and ws["origin"] == "https://grok.com"
