"""The official SDK clients every end-to-end test uses against a live gateway (no retries)."""

from __future__ import annotations

import anthropic
import openai

from tests.support import API_KEY

TIMEOUT = 20


def openai_client(base: str, key: str = API_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=TIMEOUT)


def openai_aclient(base: str, key: str = API_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=TIMEOUT)


def anthropic_client(base: str, key: str = API_KEY) -> anthropic.Anthropic:
    """Anthropic's base URL has no ``/v1``: the SDK adds it."""
    return anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=TIMEOUT)


def anthropic_aclient(base: str, key: str = API_KEY) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=base, api_key=key, max_retries=0, timeout=TIMEOUT)
