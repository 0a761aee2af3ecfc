"""Simulator chat stream, auth, statsig and control over real loopback HTTP."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from grokgate.simulator.app import cf_bm_for, create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import CHAT_PATH, RATE_LIMITS_PATH, SimState
from grokgate.simulator.statsig import DEMO_CONSTANTS, sign, synthetic, verify

if TYPE_CHECKING:
    from conftest import Sim


def test_auto_stream_order_and_text(sim: Sim) -> None:
    message = "[system]: be brief\n\n[user]: Hello, wörld!"
    response = sim.chat(message, "auto")
    frames = sim.frames(response)
    kinds = [sim.kind(f) for f in frames]
    n_think = kinds.count("thinking")
    n_final = kinds.count("final")
    assert kinds == [
        "conversation",
        "userResponse",
        "llmInfo",
        *["thinking"] * n_think,
        *["final"] * n_final,
        "modelResponse",
        "finalMetadata",
    ]
    conv = frames[0]["result"]["conversation"]
    assert conv["starred"] is False and conv["temporary"] is True
    assert conv["systemPromptName"] == "" and conv["mediaTypes"] == []
    assert {"conversationId", "title", "createTime", "modifyTime"} <= set(conv)
    user = frames[1]["result"]["response"]
    assert user["userResponse"]["sender"] == "human"
    assert user["userResponse"]["message"] == message
    assert frames[2]["result"]["response"] == {"llmInfo": {"modelHash": "sim-auto"}}
    thinking = [f["result"]["response"] for f in frames if sim.kind(f) == "thinking"]
    assert "".join(t["token"] for t in thinking) == "Thinking about 13 characters."
    assert [t["messageTag"] for t in thinking] == ["header"] + ["analysis"] * (n_think - 1)
    assert all(t["rolloutId"] == "Grok" and t["isSoftStop"] is False for t in thinking)
    finals = [f["result"]["response"] for f in frames if sim.kind(f) == "final"]
    expected = f"Echo: Hello, wörld! [sha:{sim.sha(message)}]"
    assert "".join(t["token"] for t in finals) == expected
    assert all(t["messageTag"] == "final" and t["isThinking"] is False for t in finals)
    model = frames[-2]["result"]["response"]["modelResponse"]
    assert model["message"] == expected and model["sender"] == "ASSISTANT"
    assert model["parentResponseId"] == user["userResponse"]["responseId"]
    assert model["responseId"] == finals[0]["responseId"] == thinking[0]["responseId"]
    assert model["metadata"] == {"llm_info": {"modelHash": "sim-auto"}}
    for key in ("generatedImageUrls", "fileAttachments", "cardAttachmentsJson", "streamErrors"):
        assert model[key] == []
    assert frames[-1] == {"result": {"response": {"finalMetadata": {"followUpSuggestions": []}}}}


def test_fast_has_no_thinking(sim: Sim) -> None:
    frames = sim.frames(sim.chat("[user]: quick", "fast"))
    kinds = [sim.kind(f) for f in frames]
    assert "thinking" not in kinds
    assert kinds[:3] == ["conversation", "userResponse", "llmInfo"]
    final = "".join(f["result"]["response"]["token"] for f in frames if sim.kind(f) == "final")
    assert final == f"Echo: quick [sha:{sim.sha('[user]: quick')}]"


def test_search_frames(sim: Sim) -> None:
    message = "[user]: Search for grok"
    frames = sim.frames(sim.chat(message, "expert"))
    kinds = [sim.kind(f) for f in frames]
    results = frames[kinds.index("webSearchResults")]["result"]["response"]
    urls = [r["url"] for r in results["webSearchResults"]["results"]]
    assert urls == ["https://example.com/grok-sim/1", "https://example.com/grok-sim/2"]
    card_index = kinds.index("cardAttachment")
    card = json.loads(frames[card_index]["result"]["response"]["cardAttachment"]["jsonData"])
    assert card["type"] == "render_inline_citation" and card["cardType"] == "citation_card"
    assert card["url"] == "https://example.com/grok-sim/1"
    tag = frames[card_index + 1]["result"]["response"]["token"]
    assert tag == (
        f'<grok:render card_id="{card["id"]}" card_type="citation_card" '
        'type="render_inline_citation"><argument name="citation_id">0</argument></grok:render>'
    )
    final = "".join(f["result"]["response"]["token"] for f in frames if sim.kind(f) == "final")
    assert final == f"Echo:{tag} Search for grok [sha:{sim.sha(message)}]"
    assert frames[-2]["result"]["response"]["modelResponse"]["message"] == final


def test_set_cookie_per_account(sim: Sim) -> None:
    a = sim.chat(token="tok-super").headers["set-cookie"]
    b = sim.chat("[user]: x", "fast", token="tok-basic").headers["set-cookie"]
    assert a.startswith("__cf_bm=sim-") and "Path=/" in a and "Domain=127.0.0.1" in a
    assert a.split(";")[0] == f"__cf_bm={cf_bm_for('tok-super')}"
    assert b.split(";")[0] == f"__cf_bm={cf_bm_for('tok-basic')}"


@pytest.mark.parametrize(
    "cookie", [None, "sso=nobody; sso-rw=nobody", "sso=tok-super", "sso=tok-super; sso-rw=x"]
)
def test_401_bad_credentials(sim: Sim, cookie: str | None) -> None:
    headers = {**sim.headers(), **({"cookie": cookie} if cookie else {})}
    body = {"message": "[user]: hi", "modeId": "auto"}
    response = sim.http.post(CHAT_PATH, json=body, headers=headers)
    assert response.status_code == 401
    assert "invalid-credentials" in response.text


@pytest.mark.parametrize("kind", ["missing", "wrong_path", "stale", "garbage", "synthetic"])
def test_403_antibot_on_bad_statsig(sim: Sim, kind: str) -> None:
    values = {
        "missing": None,
        "wrong_path": sign("POST", RATE_LIMITS_PATH, DEMO_CONSTANTS, sim.clock()),
        "stale": sign("POST", CHAT_PATH, DEMO_CONSTANTS, sim.clock() - 301),
        "garbage": "not*base64",
        "synthetic": synthetic(),
    }
    headers = {"cookie": "sso=tok-super; sso-rw=tok-super"}
    if values[kind] is not None:
        headers["x-statsig-id"] = values[kind]
    body = {"message": "[user]: hi", "modeId": "auto"}
    response = sim.http.post(CHAT_PATH, json=body, headers=headers)
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": 7, "message": "Request rejected by anti-bot rules.", "details": []}
    }
    (recorded,) = sim.state.chat_requests("tok-super")
    assert recorded.statsig_ok is False and recorded.body == body


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"modeId":"auto"}', b'{"message":"","modeId":"auto"}',
             b'{"message":"[user]: hi","modeId":"grok-5"}']
)  # fmt: skip
def test_400_bad_body(sim: Sim, body: bytes) -> None:
    headers = {**sim.headers(), "cookie": "sso=tok-super; sso-rw=tok-super"}
    response = sim.http.post(CHAT_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 3


def test_request_recording(sim: Sim) -> None:
    sim.chat("[user]: recorded", "fast", token="tok-heavy")
    (req,) = sim.state.chat_requests("tok-heavy")
    assert req.method == "POST" and req.path == CHAT_PATH and req.statsig_ok
    assert req.body == {"message": "[user]: recorded", "modeId": "fast"}
    assert req.headers["cookie"] == "sso=tok-heavy; sso-rw=tok-heavy"
    assert "x-statsig-id" in req.headers and req.token == "tok-heavy"


def test_sim_sign_endpoint(sim: Sim) -> None:
    response = sim.http.post("/__sim/sign", json={"method": "POST", "path": RATE_LIMITS_PATH})
    value = response.json()["x-statsig-id"]
    assert verify(value, "POST", RATE_LIMITS_PATH, DEMO_CONSTANTS, sim.clock()) is None
    assert len(base64.b64decode(value + "=" * (-len(value) % 4))) == 70
    ok = sim.post(RATE_LIMITS_PATH, {"modelName": "auto"}, headers={"x-statsig-id": value})
    assert ok.status_code == 200
    assert sim.http.post("/__sim/sign", json={"method": "POST"}).status_code == 400


def test_basic_tier_expert_model_not_available(sim: Sim) -> None:
    frames = sim.frames(sim.chat("[user]: hi", "expert", token="tok-basic"))
    assert [sim.kind(f) for f in frames] == ["conversation", "error"]
    assert frames[1] == {
        "result": {
            "response": {
                "error": {
                    "message": "Model not available for this account",
                    "modelNotAvailable": {},
                    "severity": "STREAM_ERROR_SEVERITY_NORMAL",
                }
            }
        }
    }


def test_unknown_route_is_json_404(sim: Sim) -> None:
    response = sim.http.get("/rest/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 5


def test_token_delay_and_synthetic_statsig(sim: Sim) -> None:
    state = SimState()
    state.add_account("tok")
    app = create_app(state, accept_synthetic_statsig=True, token_delay=0.02)
    assert app.state.sim is state
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        headers = {"x-statsig-id": synthetic(), "cookie": "sso=tok; sso-rw=tok"}
        started = time.monotonic()
        response = http.post(
            CHAT_PATH, json={"message": "[user]: a b c", "modeId": "fast"}, headers=headers
        )
        elapsed = time.monotonic() - started
        tokens = [f for f in sim.frames(response) if sim.kind(f) == "final"]
        assert elapsed >= 0.02 * len(tokens)
        assert state.chat_requests()[0].statsig_ok is True
