"""Simulator ``POST /rest/media/imagine/quota_info`` and the per-tier imagine quotas."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from grokgate.simulator.media import QUOTA_INFO_PATH
from grokgate.simulator.media_state import IMAGINE_QUOTAS, MEDIA_WINDOW_S, QUOTA_KINDS

if TYPE_CHECKING:
    from conftest import Sim

REFERER = {"referer": "https://grok.com/imagine"}


def info(sim: Sim, token: str = "tok-super", body: Any = None) -> httpx.Response:
    return sim.post(QUOTA_INFO_PATH, {} if body is None else body, token, headers=REFERER)


@pytest.mark.parametrize("token", ["tok-basic", "tok-super", "tok-heavy"])
def test_fresh_accounts_get_their_tier_totals(sim: Sim, token: str) -> None:
    response = info(sim, token)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == list(QUOTA_KINDS)
    tier = sim.state.accounts[token].tier
    for kind, total in IMAGINE_QUOTAS[tier].items():
        if total is None:
            assert body[kind] is None
        else:
            expected = {"available": True, "remainingQueries": total, "windowSizeSeconds": 86400}
            assert body[kind] == expected
    (record,) = sim.state.media.requests("quota_info")
    assert record.token == token


def test_basic_tier_numbers() -> None:
    assert IMAGINE_QUOTAS["basic"] == {
        "image": 20, "imagePro": None, "imageEdit": 10, "video": None, "video720p": 5,
    }  # fmt: skip
    assert MEDIA_WINDOW_S == 86400


def test_spending_counts_down_and_zero_shows_next_available_at(sim: Sim) -> None:
    media = sim.state.media
    assert media.spend("tok-super", ["video", "video720p"]) is None  # a 720p video
    body = info(sim).json()
    assert body["video"]["remainingQueries"] == 49
    assert body["video720p"]["remainingQueries"] == 19
    start = sim.clock()
    media.set_remaining("tok-super", "video720p", 1)
    assert media.spend("tok-super", ["video", "video720p"]) is None
    sim.clock.advance(100)
    assert media.spend("tok-super", ["video", "video720p"]) == MEDIA_WINDOW_S - 100
    assert media.remaining("tok-super", "video") == 48  # nothing spent by the refused call
    body = info(sim).json()
    zero = body["video720p"]
    assert zero["available"] is False and zero["remainingQueries"] == 0
    next_at = datetime.fromisoformat(zero["nextAvailableAt"].replace("Z", "+00:00"))
    assert zero["nextAvailableAt"].endswith("Z")
    assert abs(next_at.timestamp() - (start + MEDIA_WINDOW_S)) < 0.001
    assert "nextAvailableAt" not in body["video"]
    sim.clock.advance(MEDIA_WINDOW_S)
    assert info(sim).json()["video720p"]["remainingQueries"] == 20


def test_forced_zero_starts_a_window(sim: Sim) -> None:
    sim.state.media.set_remaining("tok-basic", "imageEdit", 0)
    zero = info(sim, "tok-basic").json()["imageEdit"]
    next_at = datetime.fromisoformat(zero["nextAvailableAt"].replace("Z", "+00:00"))
    assert abs(next_at.timestamp() - (sim.clock() + MEDIA_WINDOW_S)) < 0.001
    assert sim.state.media.retry_after("tok-basic", "imageEdit") == MEDIA_WINDOW_S


def test_uncounted_kinds_cannot_be_forced(sim: Sim) -> None:
    with pytest.raises(ValueError, match="not counted"):
        sim.state.media.set_remaining("tok-basic", "video", 0)
    assert sim.state.media.spend("tok-basic", ["video", "imagePro"]) is None
    assert sim.state.media.retry_after("tok-basic", "video") is None


def test_quota_info_needs_cookies_statsig_and_an_object_body(sim: Sim) -> None:
    assert info(sim, "nobody").status_code == 401
    cookie = {"cookie": "sso=tok-super; sso-rw=tok-super"}
    assert sim.http.post(QUOTA_INFO_PATH, json={}, headers=cookie).status_code == 403
    response = info(sim, body=[])
    assert response.status_code == 400 and response.json()["error"]["code"] == 3
