"""grok.com's WebSocket chat gateway as the 2026 captures show it (docs/grok-protocol.md
§5.4, §5.5), end to end: the simulator's gateway variants through a live gateway on the WS
transport and the SDKs.

Thinking on ``CHANNEL_ASSISTANT_THINKING`` (and as ``response.reasoning_text.delta``) is the
reasoning of every surface; notetaker text shows nowhere; reasoning after the answer text began
stays reasoning, in stream order, with every surface well-formed; an ``error`` event with code 7
and the anti-bot message is a challenge, not the account's fault.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from grokgate.simulator.answers import final_text, thinking_text
from grokgate.simulator.gateway_frames import LATE_THINKING, NOTETAKER_TEXTS
from grokgate.stores.records import Status, account_id_for
from tests.api.fault_support import idle_pool, unpunished
from tests.sdk import anthropic_client, openai_client
from tests.support import ALL_TOKENS, Gateway, GatewayFactory, Sim

THINKER = "grok-4.20-0309"  # auto mode: the simulator thinks
THINK: Any = {"type": "enabled", "budget_tokens": 2048}
PROMPT = "Hello there"
FLAT = "[user]: Hello there"
ANSWER = final_text(FLAT)
THOUGHT = thinking_text(FLAT, "auto")
SHAPES = [(), ("notetaker",), ("reasoning_text",), ("notetaker", "reasoning_text")]


@pytest.fixture
def chat_transport() -> str:
    return "ws"


def shaped(sim: Sim, *variants: str) -> None:
    sim.state.gateway_variants = frozenset(variants)


def no_notes(*texts: str | None) -> bool:
    return not any(note in (text or "") for note in NOTETAKER_TEXTS for text in texts)


# thinking (channel 2 or reasoning_text.delta) is reasoning; notetaker text shows nowhere -------
@pytest.mark.parametrize("variants", SHAPES, ids=lambda v: "+".join(v) or "plain")
def test_openai_chat_reasoning_content(gateway: str, sim: Sim, variants: tuple[str, ...]) -> None:
    shaped(sim, *variants)
    c = openai_client(gateway)
    msgs: Any = [{"role": "user", "content": PROMPT}]
    out = c.chat.completions.create(model=THINKER, messages=msgs)
    message = out.choices[0].message
    assert message.content == ANSWER
    assert (message.model_extra or {})["reasoning_content"] == THOUGHT
    chunks = [ch for ch in c.chat.completions.create(model=THINKER, messages=msgs, stream=True)]
    deltas = [ch.choices[0].delta for ch in chunks if ch.choices]
    assert "".join(d.content or "" for d in deltas) == ANSWER
    assert "".join((d.model_extra or {}).get("reasoning_content", "") for d in deltas) == THOUGHT
    assert no_notes(message.content, THOUGHT)
    assert [r.body["transport"] for r in sim.state.chat_requests()] == ["ws", "ws"]


@pytest.mark.parametrize("variants", SHAPES[:3], ids=lambda v: "+".join(v) or "plain")
def test_anthropic_thinking_blocks(gateway: str, sim: Sim, variants: tuple[str, ...]) -> None:
    shaped(sim, *variants)
    c = anthropic_client(gateway)
    msgs: Any = [{"role": "user", "content": PROMPT}]
    out = c.messages.create(model=THINKER, max_tokens=256, messages=msgs, thinking=THINK)
    assert [b.type for b in out.content] == ["thinking", "text"]
    assert out.content[0].thinking == THOUGHT  # type: ignore[union-attr]
    assert out.content[1].text == ANSWER  # type: ignore[union-attr]
    with c.messages.stream(model=THINKER, max_tokens=256, messages=msgs, thinking=THINK) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == THOUGHT  # type: ignore[union-attr]
    assert final.content[1].text == ANSWER  # type: ignore[union-attr]


# reasoning after the answer text began stays reasoning, in stream order -----------------------
LATE = ("late_reasoning",), ("late_reasoning", "reasoning_text", "notetaker")


@pytest.mark.parametrize("variants", LATE, ids=lambda v: "+".join(v))
def test_late_reasoning_openai_chat(gateway: str, sim: Sim, variants: tuple[str, ...]) -> None:
    shaped(sim, *variants)
    c = openai_client(gateway)
    msgs: Any = [{"role": "user", "content": PROMPT}]
    out = c.chat.completions.create(model=THINKER, messages=msgs)
    message = out.choices[0].message
    assert message.content == ANSWER  # never in the answer text
    assert (message.model_extra or {})["reasoning_content"] == THOUGHT + LATE_THINKING
    chunks = list(c.chat.completions.create(model=THINKER, messages=msgs, stream=True))
    order: list[tuple[str, str]] = []
    for chunk in chunks:
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is not None and delta.content:
            order.append(("text", delta.content))
        if delta is not None and (delta.model_extra or {}).get("reasoning_content"):
            order.append(("reasoning", (delta.model_extra or {})["reasoning_content"]))
    kinds = [kind for kind, _ in order]
    first_text = kinds.index("text")
    assert set(kinds[:first_text]) == {"reasoning"}
    assert order[first_text + 1] == ("reasoning", LATE_THINKING)  # after the first token
    assert "".join(t for k, t in order if k == "text") == ANSWER
    assert "".join(t for k, t in order if k == "reasoning") == THOUGHT + LATE_THINKING
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"


@pytest.mark.parametrize("variants", LATE, ids=lambda v: "+".join(v))
def test_late_reasoning_anthropic(gateway: str, sim: Sim, variants: tuple[str, ...]) -> None:
    shaped(sim, *variants)
    c = anthropic_client(gateway)
    msgs: Any = [{"role": "user", "content": PROMPT}]
    out = c.messages.create(model=THINKER, max_tokens=256, messages=msgs, thinking=THINK)
    assert [b.type for b in out.content] == ["thinking", "text", "thinking", "text"]
    blocks: list[Any] = out.content
    assert blocks[0].thinking == THOUGHT and blocks[2].thinking == LATE_THINKING
    assert blocks[1].text + blocks[3].text == ANSWER
    assert all(b.signature for b in blocks[::2])
    events = list(
        c.messages.create(model=THINKER, max_tokens=256, messages=msgs, thinking=THINK, stream=True)
    )
    opened: list[int] = []
    for event in events:  # every block is stopped before the next one starts, indices in order
        if event.type == "content_block_start":
            assert event.index == len(opened) and (not opened or opened[-1] < 0)
            opened.append(event.index)
        elif event.type == "content_block_stop":
            assert opened and event.index == opened[-1]
            opened[-1] = -1
        elif event.type == "content_block_delta":
            assert opened and event.index == opened[-1]
    assert opened == [-1, -1, -1, -1]
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts == ["thinking", "text", "thinking", "text"]
    with c.messages.stream(model=THINKER, max_tokens=256, messages=msgs, thinking=THINK) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "thinking", "text"]


@pytest.mark.parametrize("variants", LATE, ids=lambda v: "+".join(v))
def test_late_reasoning_responses(gateway: str, sim: Sim, variants: tuple[str, ...]) -> None:
    shaped(sim, *variants)
    c = openai_client(gateway)
    out = c.responses.create(model=THINKER, input=PROMPT)
    assert out.status == "completed"
    assert [i.type for i in out.output] == ["reasoning", "message", "reasoning", "message"]
    items: list[Any] = out.output
    assert [s.text for s in items[0].summary] == [THOUGHT]
    assert [s.text for s in items[2].summary] == [LATE_THINKING]
    assert out.output_text == ANSWER
    assert len({i.id for i in items}) == 4
    events = list(c.responses.create(model=THINKER, input=PROMPT, stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = [e for e in events if e.type == "response.output_item.added"]
    done = [e for e in events if e.type == "response.output_item.done"]
    assert [e.output_index for e in added] == [e.output_index for e in done] == [0, 1, 2, 3]
    pairs = zip(done, added[1:], strict=False)  # each item is done before the next is added
    assert all(d.sequence_number < a.sequence_number for d, a in pairs)
    final = events[-1]
    assert final.type == "response.completed"
    assert [i.type for i in final.response.output] == [
        "reasoning",
        "message",
        "reasoning",
        "message",
    ]
    assert final.response.output_text == ANSWER


# an error event with code 7 (the anti-bot message): a challenge, not the account's fault -------
SUPER = [t for t in ALL_TOKENS if "super" in t]
FIRST = min(SUPER, key=account_id_for)  # equal scores: the pool breaks ties by account id
SECOND = next(t for t in SUPER if t != FIRST)


@pytest.fixture
def two_supers(make_gateway: GatewayFactory) -> Gateway:
    return make_gateway(sso_tokens=",".join(f"super:{t}" for t in SUPER))


async def test_code_7_on_one_account_is_served_by_the_other(two_supers: Gateway, sim: Sim) -> None:
    shaped(sim, "antibot_code7")
    sim.state.inject(FIRST, "403_antibot")
    out = openai_client(two_supers.url).chat.completions.create(
        model=THINKER, messages=[{"role": "user", "content": PROMPT}]
    )
    assert out.choices[0].message.content == ANSWER
    assert [r.token for r in sim.state.chat_requests()] == [FIRST, SECOND]
    pool = await idle_pool(two_supers)
    failed = pool[account_id_for(FIRST)]
    assert failed.status is Status.ACTIVE and unpunished(failed)


async def test_code_7_on_every_account_is_an_anti_bot_error(two_supers: Gateway, sim: Sim) -> None:
    shaped(sim, "antibot_code7")
    for token in SUPER:
        sim.state.inject(token, "403_antibot", times=-1)
    with pytest.raises(openai.APIStatusError) as info:
        openai_client(two_supers.url).chat.completions.create(
            model=THINKER, messages=[{"role": "user", "content": PROMPT}]
        )
    assert info.value.status_code == 502
    assert info.value.response.json()["error"]["code"] == "upstream_anti_bot"
    pool = await idle_pool(two_supers)
    for token in SUPER:
        account = pool[account_id_for(token)]
        assert account.status is Status.ACTIVE and unpunished(account)
