"""Fixtures for the grok.com simulator tests: one loopback server shared by the session."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from grokgate.simulator.app import create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import CHAT_PATH, SimState
from grokgate.simulator.statsig import DEMO_CONSTANTS, sign
from tests.simulator.xai_support import XaiFake, serve_xai
from tests.support import FakeClock


@dataclass
class Sim:
    state: SimState
    clock: FakeClock
    url: str
    http: httpx.Client

    def headers(self, path: str = CHAT_PATH, method: str = "POST") -> dict[str, str]:
        return {"x-statsig-id": sign(method, path, DEMO_CONSTANTS, self.clock())}

    def post(
        self,
        path: str,
        body: Any,
        token: str | None = "tok-super",
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        cookie = {"cookie": f"sso={token}; sso-rw={token}"} if token else {}
        hdrs = {**self.headers(path), **cookie, **(headers or {})}
        return self.http.post(path, json=body, headers=hdrs)

    @staticmethod
    def frames(response: httpx.Response) -> list[dict[str, Any]]:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.text.endswith("\n")
        lines = response.text.split("\n")[:-1]
        assert all(line and not line.startswith("data:") for line in lines)
        return [json.loads(line) for line in lines]

    @staticmethod
    def kind(frame: dict[str, Any]) -> str:
        if "error" in frame:
            return "error"
        result = frame["result"]
        if "conversation" in result:
            return "conversation"
        response = result["response"]
        if "token" in response:
            return "thinking" if response["isThinking"] else "final"
        return next(k for k in response if k not in ("isThinking", "isSoftStop", "responseId"))

    @staticmethod
    def sha(message: str) -> str:
        return hashlib.sha256(message.encode()).hexdigest()[:10]

    def chat(
        self, message: str = "[user]: hello", mode: str = "auto", token: str = "tok-super"
    ) -> httpx.Response:
        return self.post(CHAT_PATH, {"message": message, "modeId": mode}, token)


ACCOUNTS = {"tok-basic": "basic", "tok-super": "super", "tok-heavy": "heavy"}


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[SimState, FakeClock, str, httpx.Client]]:
    clock = FakeClock(time.time())
    state = SimState(clock=clock)
    with (
        ServerThread(create_app(state, clock=clock)) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        yield state, clock, server.url, http


@pytest.fixture
def sim(_server: tuple[SimState, FakeClock, str, httpx.Client]) -> Sim:
    state, clock, url, http = _server
    clock.now = time.time()
    state.accounts.clear()
    state.reset()
    for token, tier in ACCOUNTS.items():
        state.add_account(token, tier)
    http.cookies.clear()  # no cookie jar carried over between tests
    return Sim(state, clock, url, http)


@pytest.fixture(scope="session")
def xai_fake() -> Iterator[XaiFake]:
    """The fake xAI API on loopback (HTTP/1.1), shared by the session."""
    with serve_xai() as fake:
        yield fake


@pytest.fixture
def xai(xai_fake: XaiFake) -> XaiFake:
    return xai_fake.reset()
