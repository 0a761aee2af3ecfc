"""Chrome profiles: the table and the client hints agree with what curl_cffi's profiles send."""

from __future__ import annotations

import asyncio

import pytest
from curl_cffi.requests import AsyncSession, BrowserType

from grokgate.upstream.browser.profiles import (
    DEFAULT_PROFILE,
    PROFILES,
    chrome_major,
    client_hints,
    profile_for,
    resolve,
)

LINUX_146 = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/146.0.0.0 Safari/537.36"
)
ANDROID_136 = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Mobile Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def _defaults(profiles: list[str]) -> dict[str, dict[str, str]]:
    """The headers each curl_cffi profile sends on its own (a loopback capture)."""
    seen: list[dict[str, str]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        seen.append({k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)})
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = {}
    async with server, AsyncSession() as session:
        for profile in profiles:
            await session.get(f"http://127.0.0.1:{port}/", impersonate=profile, http_version="v1")
            out[profile] = seen[-1]
    return out


async def test_table_and_hints_are_what_each_curl_cffi_profile_sends() -> None:
    captured = await _defaults(sorted(PROFILES))
    for profile, headers in captured.items():
        assert headers["user-agent"] == PROFILES[profile], profile
        hints = client_hints(PROFILES[profile])
        for name in ("sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"):
            assert headers[name] == hints[name], (profile, name)


def test_the_default_is_the_newest_chrome_profile_of_the_pinned_curl_cffi() -> None:
    chromes = [
        b.value for b in BrowserType if b.value.startswith("chrome") and "android" not in b.value
    ]
    newest = max(int("".join(c for c in name[6:9] if c.isdigit())) for name in chromes)
    assert chrome_major(PROFILES[DEFAULT_PROFILE]) == newest
    assert set(PROFILES) <= {b.value for b in BrowserType}


def test_hints_follow_the_ua_platform_and_mobility() -> None:
    assert client_hints(LINUX_146)["sec-ch-ua-platform"] == '"Linux"'
    android = client_hints(ANDROID_136)
    assert android["sec-ch-ua-mobile"] == "?1"
    assert android["sec-ch-ua-platform"] == '"Android"'
    assert client_hints(FIREFOX) == {}


def test_resolve_defaults_and_matching() -> None:
    default = resolve(None, None)
    assert (default.profile, default.user_agent) == (DEFAULT_PROFILE, PROFILES[DEFAULT_PROFILE])
    assert resolve("chrome146", None).user_agent == PROFILES["chrome146"]
    linux = resolve(None, LINUX_146)  # a UA alone picks the profile of its Chrome version
    assert (linux.profile, linux.user_agent) == ("chrome146", LINUX_146)
    assert resolve("chrome146", LINUX_146).profile == "chrome146"
    assert resolve(None, PROFILES["chrome151_macos"]).profile == "chrome151_macos"


@pytest.mark.parametrize(
    ("impersonate", "ua", "says"),
    [
        ("chrome146", PROFILES["chrome145"], "names Chrome 145 but GROKGATE_IMPERSONATE=chrome146"),
        (None, FIREFOX, "must be a Chrome User-Agent"),
        (None, LINUX_146.replace("146", "99"), "no profile"),
        ("chrome1", None, "is not a Chrome profile"),
    ],
)
def test_resolve_refuses_a_mismatch_naming_both(
    impersonate: str | None, ua: str | None, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        resolve(impersonate, ua)


def test_a_clearance_ua_gets_the_nearest_profile() -> None:
    assert profile_for(LINUX_146.replace("146", "147")) == "chrome146"
    assert profile_for(LINUX_146.replace("146", "147"), exact=True) is None
    assert profile_for(PROFILES["chrome152_macos"]) == "chrome152_macos"
