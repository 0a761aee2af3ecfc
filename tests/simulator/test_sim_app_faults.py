"""Simulator faults, quotas and rate limits over real loopback HTTP."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from grokgate.simulator.state import CHAT_PATH, RATE_LIMITS_PATH
from grokgate.simulator.statsig import DEMO_CONSTANTS, sign

if TYPE_CHECKING:
    from conftest import Sim


def _check_fault(sim: Sim, name: str, response: httpx.Response) -> None:
    if name == "401":
        assert response.status_code == 401 and "invalid-credentials" in response.text
    elif name == "403_cf":
        assert response.status_code == 403
        assert "<title>Just a moment...</title>" in response.text
        assert response.headers["cf-mitigated"] == "challenge"
    elif name == "403_antibot":
        assert response.status_code == 403
        assert response.json() == {
            "error": {"code": 7, "message": "Request rejected by anti-bot rules.", "details": []}
        }
    elif name == "403_blocked":
        assert response.status_code == 403
        message = "User is blocked: Bot abuse - free tier account [WKE=unauthorized:blocked-user]"
        assert response.json() == {"error": {"code": 7, "message": message, "details": []}}
    elif name == "429":
        assert response.status_code == 429 and response.headers["retry-after"] == "17"
    elif name in ("500", "502", "503"):
        assert response.status_code == int(name)
    elif name == "inband_error":
        frames = sim.frames(response)
        assert [sim.kind(f) for f in frames] == ["conversation", "error"]
        assert frames[1] == {"error": {"code": 8, "message": "rate limited"}}
    elif name == "inband_response_error":
        frames = sim.frames(response)
        assert [sim.kind(f) for f in frames] == ["conversation", "error"]
        error = {
            "message": "ResourceExhausted: perf_based_admission_controller",
            "severity": "STREAM_ERROR_SEVERITY_NORMAL",
        }
        assert frames[1] == {"result": {"response": {"error": error}}}
    else:  # pragma: no cover
        raise AssertionError(name)


FAULTS = ["401", "403_cf", "403_antibot", "403_blocked", "429", "500", "502", "503",
          "inband_error", "inband_response_error"]  # fmt: skip


@pytest.mark.parametrize("name", FAULTS)
def test_fault_once_then_normal(sim: Sim, name: str) -> None:
    sim.state.inject("tok-super", name, retry_after=17)
    _check_fault(sim, name, sim.chat())
    assert sim.state.accounts["tok-super"].remaining["auto"] == 50
    assert sim.kind(sim.frames(sim.chat())[-1]) == "finalMetadata"
    assert sim.state.accounts["tok-super"].remaining["auto"] == 49


def test_fault_only_hits_its_account(sim: Sim) -> None:
    sim.state.inject("tok-super", "500")
    assert sim.chat(token="tok-heavy").status_code == 200
    assert sim.chat(token="tok-super").status_code == 500


def test_sticky_fault(sim: Sim) -> None:
    sim.state.inject("tok-super", "503", times=-1)
    assert [sim.chat().status_code for _ in range(3)] == [503, 503, 503]
    sim.state.clear_faults("tok-super")
    assert sim.chat().status_code == 200


def test_fault_times(sim: Sim) -> None:
    sim.state.inject("tok-super", "502", times=2)
    assert [sim.chat().status_code for _ in range(3)] == [502, 502, 200]


def test_cut_drops_connection(sim: Sim) -> None:
    sim.state.inject("tok-super", "cut", after=3)
    lines: list[str] = []
    headers = {**sim.headers(), "cookie": "sso=tok-super; sso-rw=tok-super"}
    body = {"message": "[user]: hello", "modeId": "auto"}
    with pytest.raises(httpx.RemoteProtocolError):  # noqa: SIM117
        with sim.http.stream("POST", CHAT_PATH, json=body, headers=headers) as response:
            assert response.status_code == 200
            lines.extend(response.iter_lines())
    kinds = [sim.kind(json.loads(line)) for line in lines if line]
    assert kinds == ["conversation", "userResponse", "llmInfo"]
    assert sim.kind(sim.frames(sim.chat())[-1]) == "finalMetadata"


def test_truncate_ends_cleanly_without_final(sim: Sim) -> None:
    sim.state.inject("tok-super", "truncate", after=4)
    kinds = [sim.kind(f) for f in sim.frames(sim.chat())]
    assert kinds == ["conversation", "userResponse", "llmInfo", "thinking"]


def test_slow_fault(sim: Sim) -> None:
    sim.state.inject("tok-super", "slow", delay=0.15)
    started = time.monotonic()
    frames = sim.frames(sim.chat())
    assert time.monotonic() - started >= 0.15
    assert sim.kind(frames[-1]) == "finalMetadata"


def test_quota_countdown_429_and_reset(sim: Sim) -> None:
    for i in range(30):
        assert sim.chat(f"[user]: n{i}", "fast", token="tok-basic").status_code == 200
    limits = sim.post(RATE_LIMITS_PATH, {"modelName": "fast"}, "tok-basic").json()
    assert limits["remainingQueries"] == 0 and limits["totalQueries"] == 30
    sim.clock.advance(400)
    response = sim.chat("[user]: more", "fast", token="tok-basic")
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(86400 - 400)
    sim.clock.advance(86400 - 400)
    assert sim.chat("[user]: again", "fast", token="tok-basic").status_code == 200
    limits = sim.post(RATE_LIMITS_PATH, {"modelName": "fast"}, "tok-basic").json()
    assert limits["remainingQueries"] == 29


def test_quota_is_per_mode(sim: Sim) -> None:
    sim.state.set_remaining("tok-super", "expert", 0)
    assert sim.chat(mode="expert").status_code == 429
    assert sim.chat(mode="auto").status_code == 200


@pytest.mark.parametrize(
    ("token", "mode", "window", "total"),
    [
        ("tok-basic", "fast", 86400, 30),
        ("tok-basic", "auto", 86400, 0),
        ("tok-basic", "expert", 86400, 0),
        ("tok-super", "auto", 7200, 50),
        ("tok-super", "fast", 7200, 140),
        ("tok-super", "expert", 7200, 50),
        ("tok-super", "heavy", 7200, 0),
        ("tok-super", "grok-420-computer-use-sa", 7200, 50),
        ("tok-heavy", "auto", 7200, 150),
        ("tok-heavy", "fast", 7200, 400),
        ("tok-heavy", "heavy", 7200, 20),
    ],
)
def test_rate_limits_shape(sim: Sim, token: str, mode: str, window: int, total: int) -> None:
    response = sim.post(RATE_LIMITS_PATH, {"modelName": mode}, token)
    assert response.status_code == 200
    assert response.json() == {
        "windowSizeSeconds": window,
        "remainingQueries": total,
        "totalQueries": total,
        "lowEffortRateLimits": None,
        "highEffortRateLimits": None,
    }


def test_rate_limits_checks_auth_and_statsig(sim: Sim) -> None:
    assert sim.post(RATE_LIMITS_PATH, {"modelName": "auto"}, None).status_code == 401
    wrong = {"x-statsig-id": sign("POST", CHAT_PATH, DEMO_CONSTANTS, sim.clock())}
    response = sim.post(RATE_LIMITS_PATH, {"modelName": "auto"}, headers=wrong)
    assert response.status_code == 403 and response.json()["error"]["code"] == 7
    assert sim.post(RATE_LIMITS_PATH, {}, "tok-super").status_code == 400


def test_control_endpoints(sim: Sim) -> None:
    fault = {"token": "tok-super", "fault": "429", "times": 1, "retry_after": 5}
    assert sim.http.post("/__sim/faults", json=fault).status_code == 204
    response = sim.chat()
    assert response.status_code == 429 and response.headers["retry-after"] == "5"
    bad = {"token": "tok-super", "fault": "nope"}
    assert sim.http.post("/__sim/faults", json=bad).status_code == 400
    stats = sim.http.get("/__sim/stats").json()
    by_tier = {a["tier"]: a for a in stats["accounts"]}
    assert by_tier["super"]["requests"] == 1 and by_tier["super"]["chat_requests"] == 1
    assert by_tier["super"]["remaining"]["auto"] == 50 and by_tier["basic"]["requests"] == 0
    assert all(a["token"].endswith("…") and len(a["token"]) == 5 for a in stats["accounts"])
    assert "tok-super" not in json.dumps(stats)
    assert stats["requests"] == 1
    sim.chat()
    assert sim.state.accounts["tok-super"].remaining["auto"] == 49
    assert sim.http.post("/__sim/reset").status_code == 204
    assert sim.state.accounts["tok-super"].remaining["auto"] == 50
    assert sim.state.requests == []
