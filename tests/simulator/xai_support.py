"""Helpers for the xAI fake tests: a live fake (uvicorn, HTTP/1.1) and SDK/httpx clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai

from grokgate.simulator.server import ServerThread
from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_state import XaiState

KEY = "xai-test-key-0123456789abcdef"
OTHER_KEY = "xai-other-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}


@dataclass
class XaiFake:
    state: XaiState
    url: str
    http: httpx.Client

    def openai(self, key: str = KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=10)

    def anthropic(self, key: str = KEY) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key=key, max_retries=0, timeout=10)

    def post(self, path: str, body: Any, key: str | None = KEY) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return self.http.post(path, json=body, headers=headers)

    def reset(self) -> XaiFake:
        self.state.reset()
        self.state.keys.clear()
        self.state.add_key(KEY)
        self.state.add_key(OTHER_KEY)
        return self


@contextmanager
def serve_xai(token_delay: float = 0.0) -> Iterator[XaiFake]:
    state = XaiState([KEY, OTHER_KEY])
    with (
        ServerThread(create_xai_app(state, token_delay=token_delay)) as server,
        httpx.Client(base_url=server.url, timeout=10.0) as http,
    ):
        yield XaiFake(state, server.url, http)


def sse_events(text: str) -> list[tuple[str | None, Any]]:
    """(event name, parsed data — or the raw string when it is not JSON) of an SSE body."""
    events: list[tuple[str | None, Any]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        raw = "\n".join(data)
        try:
            events.append((name, json.loads(raw)))
        except ValueError:
            events.append((name, raw))
    return events


def chat_body(text: str = "hello world", model: str = "grok-4", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["c", "f"]},
                "verbose": {"type": "boolean"},
            },
            "required": ["city", "days", "unit"],
        },
    },
}
