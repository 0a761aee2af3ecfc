"""How a streamed answer ended, as the grok.com simulator and the xAI fake record it: every
frame sent ("completed"), a fault ("cut", "truncated"), or the client went away first
("client_gone"), which is what proves a gateway cancelled its upstream request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from grokgate.simulator.app import create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.state import CHAT_PATH, RecordedRequest, SimState
from grokgate.simulator.statsig import DEMO_CONSTANTS, sign
from tests.simulator.xai_support import AUTH, XaiFake, chat_body

if TYPE_CHECKING:
    from conftest import Sim

TOKEN = "tok-super"
MESSAGE = "[user]: " + " ".join(f"w{i}" for i in range(12))  # a dozen final tokens


def settled(read: Callable[[], str | None], timeout: float = 5.0) -> str | None:
    """``read()`` once it is not None (the server records the outcome after the client)."""
    deadline = time.monotonic() + timeout
    while (value := read()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


def only_chat(state: SimState) -> RecordedRequest:
    [record] = state.chat_requests()
    return record


# grok.com simulator ---------------------------------------------------------------------------
def test_a_whole_answer_is_completed(sim: Sim) -> None:
    frames = sim.frames(sim.chat(MESSAGE, "fast"))
    assert frames
    assert settled(lambda: only_chat(sim.state).outcome) == "completed"


@pytest.mark.parametrize(("fault", "outcome"), [("cut", "cut"), ("truncate", "truncated")])
def test_a_stream_fault_records_itself(sim: Sim, fault: str, outcome: str) -> None:
    sim.state.inject(TOKEN, fault, after=3)
    try:
        sim.chat(MESSAGE, "fast")
    except httpx.RemoteProtocolError:
        assert fault == "cut"
    assert settled(lambda: only_chat(sim.state).outcome) == outcome


def test_non_stream_answers_record_no_outcome(sim: Sim) -> None:
    sim.state.inject(TOKEN, "503")
    assert sim.chat(MESSAGE, "fast").status_code == 503
    time.sleep(0.05)
    assert only_chat(sim.state).outcome is None


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[tuple[SimState, str]]:
    """A simulator that waits 50 ms before each token: a dozen tokens take 0.6 s."""
    state = SimState()
    state.add_account(TOKEN, "super")
    with ServerThread(create_app(state, token_delay=0.05)) as server:
        yield state, server.url


def test_a_client_that_leaves_mid_answer_is_client_gone(
    slow_sim: tuple[SimState, str],
) -> None:
    state, url = slow_sim
    state.reset()
    headers = {
        "x-statsig-id": sign("POST", CHAT_PATH, DEMO_CONSTANTS, time.time()),
        "cookie": f"sso={TOKEN}; sso-rw={TOKEN}",
    }
    body = {"message": MESSAGE, "modeId": "fast"}
    with httpx.stream("POST", f"{url}{CHAT_PATH}", json=body, headers=headers) as response:
        lines = response.iter_lines()
        for _ in range(5):  # conversation, userResponse, llmInfo and the first two tokens
            next(lines)
        assert only_chat(state).outcome is None  # still answering
    assert settled(lambda: only_chat(state).outcome) == "client_gone"


# xAI fake -------------------------------------------------------------------------------------
def test_xai_whole_stream_is_completed_and_json_has_none(xai: XaiFake) -> None:
    xai.post("/v1/chat/completions", chat_body("a b", stream=True))
    assert settled(lambda: xai.state.last().outcome) == "completed"
    xai.post("/v1/chat/completions", chat_body("a b"))
    time.sleep(0.05)
    assert xai.state.last().outcome is None


def test_xai_cut_records_cut(xai: XaiFake) -> None:
    [key, *_] = sorted(xai.state.keys)
    xai.state.inject(key, "cut", after=2)
    with pytest.raises(httpx.RemoteProtocolError):
        xai.post("/v1/chat/completions", chat_body("a b c", stream=True), key=key)
    assert settled(lambda: xai.state.last().outcome) == "cut"


def test_xai_client_that_leaves_mid_answer_is_client_gone(xai: XaiFake) -> None:
    xai.state.hold_chunks = True  # every content event after the first waits for a release
    body = chat_body("a b c d", stream=True)
    with xai.http.stream("POST", "/v1/chat/completions", json=body, headers=AUTH) as response:
        lines = (line for line in response.iter_lines() if line.startswith("data: "))
        next(lines), next(lines)  # the role chunk and "Echo:"
        assert xai.state.last().outcome is None
    assert settled(lambda: xai.state.last().outcome) == "client_gone"
    assert len(xai.state.last().chunk_times) == 2  # nothing more was written
