"""A deployed chat function builds its Responses, Conversations and Messages routes on the first
request under them: ``/health`` and Chat Completions never load them, and once built they
answer exactly as eagerly built routes do (errors in each API's own format included)."""

from __future__ import annotations

import json
import subprocess
import sys

PROGRAM = r"""
import asyncio, json, sys
import httpx
from grokgate.api.app import create_app
from grokgate.config import Settings

LAZY = ("grokgate.api.anthropic.routes", "grokgate.api.openai.responses_routes",
        "grokgate.api.openai.conversations_routes")
app = create_app(surfaces=("chat",), settings=Settings(_env_file=None, api_keys="k" * 20),
                 lazy_routes=True)
auth = {"Authorization": "Bearer " + "k" * 20, "x-api-key": "k" * 20}

async def main():
    out = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        out["health"] = (await c.get("/health")).status_code
        bad = await c.post("/v1/chat/completions", json={"model": 1}, headers=auth)
        out["chat"] = [bad.status_code, "error" in bad.json()]
        out["loaded_before"] = [m for m in LAZY if m in sys.modules]
        msg = await c.post("/v1/messages", json={"model": "grok-4.20-fast"}, headers=auth)
        out["messages"] = [msg.status_code, msg.json()["type"], msg.json()["error"]["type"]]
        out["loaded_after"] = [m for m in LAZY if m in sys.modules]
        out["unknown"] = [(r := await c.get("/v1/messages/nope", headers=auth)).status_code,
                          r.json()["type"]]
        out["method"] = (await c.get("/v1/messages", headers=auth)).status_code
        out["no_key"] = (await c.post("/v1/responses", json={})).status_code
        gone = await c.get("/v1/responses/resp_" + "0" * 32, headers=auth)
        out["responses"] = [gone.status_code, gone.json()["error"]["code"] is not None]
        out["prefix_only"] = (await c.get("/v1/messagesX", headers=auth)).status_code
    await app.state.runtime.aclose()  # no lifespan here: close the stores it opened
    print(json.dumps(out))

asyncio.run(main())
"""


def test_lazy_chat_apis_load_on_first_use_and_answer_as_usual(tmp_path: object) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "GROKGATE_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["health"] == 200
    assert out["chat"] == [400, True]
    assert out["loaded_before"] == []  # /health and chat completions built none of them
    assert out["messages"] == [400, "error", "invalid_request_error"]
    assert len(out["loaded_after"]) == 3
    assert out["unknown"] == [404, "error"]  # Anthropic's format under /v1/messages
    assert out["method"] == 405
    assert out["no_key"] == 401
    assert out["responses"] == [404, True]
    assert out["prefix_only"] == 404  # /v1/messagesX is not under /v1/messages
