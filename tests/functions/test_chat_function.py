"""The chat function started the way AWS Lambda Web Adapter starts it (tests/functions/
web_adapter.py): ``run.sh`` with the template's environment, readiness polled on the template's
path and healthy status, then requests on the adapter's port. The pool is the deployed one
(DynamoDB in moto, accounts added with the CLI, the client key from Secrets Manager), and
grok.com is a simulator that paces its tokens, so a buffered response would show up as every
chunk arriving at once."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import httpx
import pytest

from grokgate.simulator.app import create_app as create_simulator
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import SimState
from tests.functions.conftest import Deployment
from tests.functions.web_adapter import run_chat_function
from tests.sdk import anthropic_client, openai_client
from tests.support import ACCOUNTS, API_KEY, Sim

TOKEN_DELAY = 0.08  # seconds the simulator waits before each token


@pytest.fixture
def paced_sim() -> Iterator[Sim]:
    state = SimState()
    for tier, token in ACCOUNTS:
        state.add_account(token, tier)
    with ServerThread(create_simulator(state, token_delay=TOKEN_DELAY)) as server:
        yield Sim(state, server.url)


@pytest.fixture
def chat_function(deployment: Deployment, paced_sim: Sim) -> Iterator[str]:
    deployment.sim = paced_sim
    with run_chat_function(deployment.env("ChatFunction")) as base:
        yield base


def test_a_streamed_chat_arrives_chunk_by_chunk(chat_function: str, paced_sim: Sim) -> None:
    words = "one two three four five six seven eight"
    started = time.monotonic()
    stream = openai_client(chat_function).chat.completions.create(
        model="grok-4.20-fast", messages=[{"role": "user", "content": words}], stream=True
    )
    arrivals: list[tuple[float, str]] = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.monotonic() - started, chunk.choices[0].delta.content))
    text = "".join(piece for _, piece in arrivals)
    assert text.startswith(f"Echo: {words}")
    assert len(arrivals) >= 8
    first, last = arrivals[0][0], arrivals[-1][0]
    # paced upstream tokens reach the client paced: over at least half the upstream's pacing
    # (a buffered response would deliver them all within a few milliseconds of each other)
    assert last - first >= 0.5 * TOKEN_DELAY * (len(arrivals) - 1), arrivals
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert sum(g > TOKEN_DELAY / 2 for g in gaps) >= len(gaps) // 2, gaps
    (turn,) = paced_sim.state.chat_requests()
    assert turn.token in {token for _, token in ACCOUNTS}  # an account from the DynamoDB pool


def test_the_chat_function_serves_messages_and_responses_too(chat_function: str) -> None:
    with anthropic_client(chat_function).messages.stream(
        model="grok-4.20-fast", max_tokens=64, messages=[{"role": "user", "content": "hi there"}]
    ) as stream:
        pieces = list(stream.text_stream)
    assert len(pieces) > 1 and "".join(pieces).startswith("Echo: hi there")
    answer = openai_client(chat_function).responses.create(model="grok-4.20-fast", input="yo")
    assert answer.output_text.startswith("Echo: yo")
    auth = {"Authorization": f"Bearer {API_KEY}"}
    missing = httpx.get(f"{chat_function}/v1/models", headers=auth)  # not this function's
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"
