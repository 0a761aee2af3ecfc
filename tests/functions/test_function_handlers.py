"""The per-route functions, entered the way Lambda enters them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx
import openai
import pytest

from grokgate.config import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX, get_settings
from tests.support import ACCOUNTS, API_KEY, Sim, free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fn_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rest_event(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict:
    """An API Gateway REST API (payload v1) proxy event."""
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "req-1",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROKGATE_API_KEYS", API_KEY)
    monkeypatch.setenv("GROKGATE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_models_handler_answers_rest_proxy_events(env: None) -> None:
    module = _load(ROOT / "functions/models/handler.py")
    assert module._adapter is None  # nothing built at import
    ok = module.handler(
        _rest_event("/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}), None
    )
    assert ok["statusCode"] == 200
    ids = [m["id"] for m in json.loads(ok["body"])["data"]]
    assert "grok-4.20-fast" in ids
    denied = module.handler(_rest_event("/v1/models"), None)
    assert denied["statusCode"] == 401
    assert json.loads(denied["body"])["error"]["code"] == "invalid_api_key"


def test_chat_function_streams_when_started_like_the_adapter(sim: Sim, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    env.update(
        AWS_LWA_PORT=str(port),
        GROKGATE_API_KEYS=API_KEY,
        GROKGATE_DATA_DIR=str(tmp_path),
        GROKGATE_GROK_BASE_URL=sim.url,
        GROKGATE_STATSIG_HEADER_HEX=DEMO_STATSIG_HEADER_HEX,
        GROKGATE_STATSIG_SUFFIX=DEMO_STATSIG_SUFFIX,
        GROKGATE_SSO_TOKENS=",".join(f"{t}:{tok}" for t, tok in ACCOUNTS),
        PYTHONPATH=str(ROOT / "shared"),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    proc = subprocess.Popen(
        ["sh", str(ROOT / "functions/chat/run.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=API_KEY, max_retries=0)
        stream = client.chat.completions.create(
            model="grok-4.20-fast",
            messages=[{"role": "user", "content": "one two three four five"}],
            stream=True,
        )
        pieces = [c.choices[0].delta.content for c in stream if c.choices]
        assert len([p for p in pieces if p]) > 3  # arrived as several chunks, not one blob
        assert "".join(p or "" for p in pieces).startswith("Echo: one two three four five")
        # this function serves chat only
        auth = {"Authorization": f"Bearer {API_KEY}"}
        assert httpx.get(f"{base}/v1/models", headers=auth).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
