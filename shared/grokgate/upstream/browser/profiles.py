"""Which Chrome grokgate is, from the TLS hello up to the client hints.

A Chrome profile of curl_cffi fixes the TLS hello and the HTTP/2 preface of one Chrome major
version; the User-Agent and the ``sec-ch-ua*`` hints must name that same version, or the
mismatch is itself a bot signal. :data:`PROFILES` lists the profiles of the pinned curl_cffi
with the User-Agent each sends (``tests/upstream/browser`` checks both against curl_cffi), and
:func:`client_hints` derives the hints Chromium sends for any User-Agent (Chromium's own
"greased" brand list, a pure function of the major version).

Settings (start-up errors are :class:`ValueError`):

- ``GROKGATE_IMPERSONATE`` alone: that profile, with its own User-Agent.
- ``GROKGATE_USER_AGENT`` alone: the profile of the same Chrome major (the same platform if
  there is one), with that User-Agent; no such profile is an error naming the majors we have.
- both: the majors must agree, or it is an error naming both.
- neither: :data:`DEFAULT_PROFILE`, the newest Chrome profile of the pinned curl_cffi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_WIN = "Windows NT 10.0; Win64; x64"


def _ua(platform: str, major: int) -> str:
    return (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


#: curl_cffi profile name → the User-Agent that profile sends.
PROFILES: dict[str, str] = {
    "chrome131": _ua(_MAC, 131),
    "chrome133a": _ua(_MAC, 133),
    "chrome136": _ua(_MAC, 136),
    "chrome142": _ua(_MAC, 142),
    "chrome145": _ua(_MAC, 145),
    "chrome146": _ua(_MAC, 146),
    "chrome150": _ua(_MAC, 150),
    "chrome151": _ua(_WIN, 151),
    "chrome151_macos": _ua(_MAC, 151),
    "chrome152": _ua(_WIN, 152),
    "chrome152_macos": _ua(_MAC, 152),
}
DEFAULT_PROFILE = "chrome152"

_MAJOR = re.compile(r"\bChrome/(\d+)\.")
# Chromium's user_agent_utils: the greased brand's characters, versions and the six orders.
_GREASE_CHARS = (" ", "(", ":", "-", ".", "/", ")", ";", "=", "?", "_")
_GREASE_VERSIONS = ("8", "99", "24")
_ORDERS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def chrome_major(user_agent: str) -> int | None:
    """The Chrome major version a User-Agent names (None for a UA that is not Chrome's)."""
    match = _MAJOR.search(user_agent)
    if match is None or "Edg/" in user_agent or "OPR/" in user_agent:
        return None
    return int(match.group(1))


def platform_of(user_agent: str) -> str:
    """``sec-ch-ua-platform``'s value (unquoted) for a User-Agent."""
    if "Android" in user_agent:
        return "Android"
    if "iPhone" in user_agent or "iPad" in user_agent:
        return "iOS"
    if "Mac OS X" in user_agent or "Macintosh" in user_agent:
        return "macOS"
    if "Windows" in user_agent:
        return "Windows"
    if "CrOS" in user_agent:
        return "Chrome OS"
    return "Linux"


def brand_list(major: int) -> str:
    """``sec-ch-ua`` as Chrome ``major`` sends it (Chromium's GetUserAgentBrandList)."""
    greased = (
        f"Not{_GREASE_CHARS[major % 11]}A{_GREASE_CHARS[(major + 1) % 11]}Brand",
        _GREASE_VERSIONS[major % 3],
    )
    brands = [greased, ("Chromium", str(major)), ("Google Chrome", str(major))]
    slots: list[tuple[str, str]] = [("", "")] * 3
    for brand, position in zip(brands, _ORDERS[major % 6], strict=True):
        slots[position] = brand
    return ", ".join(f'"{name}";v="{version}"' for name, version in slots)


def client_hints(user_agent: str) -> dict[str, str]:
    """The low-entropy hints Chrome sends on every request (the others only on a server's
    ``Accept-CH``), in Chrome's order; none for a UA that is not Chrome's."""
    major = chrome_major(user_agent)
    if major is None:
        return {}
    mobile = "Mobile" in user_agent
    return {
        "sec-ch-ua-platform": f'"{platform_of(user_agent)}"',
        "sec-ch-ua": brand_list(major),
        "sec-ch-ua-mobile": "?1" if mobile else "?0",
    }


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Who grokgate says it is to grok.com: the curl_cffi profile and the matching UA."""

    profile: str
    user_agent: str

    @property
    def major(self) -> int:
        major = chrome_major(self.user_agent)
        assert major is not None
        return major

    def hints(self) -> dict[str, str]:
        return client_hints(self.user_agent)


def _majors() -> str:
    return ", ".join(sorted({str(chrome_major(ua)) for ua in PROFILES.values()}))


def resolve(impersonate: str | None, user_agent: str | None) -> Fingerprint:
    """The fingerprint the two settings ask for (module docstring); :class:`ValueError` names
    what is wrong."""
    if impersonate is not None and impersonate not in PROFILES:
        raise ValueError(
            f"GROKGATE_IMPERSONATE={impersonate!r} is not a Chrome profile of the installed "
            f"curl_cffi; choose one of: {', '.join(PROFILES)}"
        )
    if user_agent is None:
        profile = impersonate or DEFAULT_PROFILE
        return Fingerprint(profile, PROFILES[profile])
    major = chrome_major(user_agent)
    if major is None:
        raise ValueError(
            "GROKGATE_USER_AGENT must be a Chrome User-Agent (Chrome/<major>.…): grok.com's "
            "Cloudflare checks that it matches the TLS fingerprint, which is Chrome's"
        )
    if impersonate is not None:
        theirs = chrome_major(PROFILES[impersonate])
        if theirs != major:
            raise ValueError(
                f"GROKGATE_USER_AGENT names Chrome {major} but GROKGATE_IMPERSONATE={impersonate}"
                f" is Chrome {theirs}: they must be the same version (unset one of them)"
            )
        return Fingerprint(impersonate, user_agent)
    profile = profile_for(user_agent, exact=True)
    if profile is None:
        raise ValueError(
            f"GROKGATE_USER_AGENT names Chrome {major}, for which the installed curl_cffi has "
            f"no profile (it has Chrome {_majors()}); use one of those versions in the UA"
        )
    return Fingerprint(profile, user_agent)


def profile_for(user_agent: str, *, exact: bool = False) -> str | None:
    """The profile for a Chrome UA: its major (same platform first); unless ``exact``, the
    nearest major when there is no such profile (a clearance's UA from FlareSolverr)."""
    major = chrome_major(user_agent)
    if major is None:
        return None
    platform = platform_of(user_agent)

    def rank(name: str) -> tuple[int, int, int]:
        theirs = chrome_major(PROFILES[name]) or 0
        return (abs(theirs - major), platform_of(PROFILES[name]) != platform, -theirs)

    best = min(PROFILES, key=rank)
    if exact and chrome_major(PROFILES[best]) != major:
        return None
    return best
