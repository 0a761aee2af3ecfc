"""The xAI relay and ``/v1/models`` never load the browser transport (curl_cffi): a gateway
that only relays to xAI, in a fresh interpreter, answers a chat and lists the models with
curl_cffi absent from ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.api.xai.conftest import KEY_A, Xai
from tests.support import API_KEY

SCRIPT = """
import json, sys
import httpx
from grokgate.api.app import create_app
from grokgate.config import Settings
from grokgate.simulator.server import ServerThread

settings = Settings(_env_file=None, **json.loads(sys.argv[1]))
with ServerThread(create_app(settings=settings)) as gw:
    auth = {"Authorization": "Bearer " + sys.argv[2]}
    models = httpx.get(gw.url + "/v1/models", headers=auth)
    chat = httpx.post(gw.url + "/v1/chat/completions", headers=auth, timeout=20,
                      json={"model": "grok-4", "messages": [{"role": "user", "content": "hi"}]})
    print(json.dumps([models.status_code, chat.status_code,
                      sorted(m for m in sys.modules if m.split(".")[0] == "curl_cffi")]))
"""


def test_the_xai_path_never_imports_curl_cffi(xai_server: Xai, tmp_path: Path) -> None:
    settings = {
        "data_dir": str(tmp_path),
        "api_keys": API_KEY,
        "xai_api_keys": KEY_A,
        "xai_base_url": xai_server.url,
        "xai_ca_file": xai_server.ca_file,
        "quota_sync_seconds": 0.001,  # the pool's quota sync runs after the chat
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(settings), API_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    models, chat, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert (models, chat) == (200, 200), out.stderr
    assert loaded == []
