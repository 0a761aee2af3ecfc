"""Real JavaScript clients against the live gateway (issue 23's acceptance): the Vercel AI SDK's
default OpenAI provider (Responses API, ``store`` at its default) and the Anthropic TypeScript
SDK's tool runner (message threads on, as it defaults).

Each ``tests/node/*.mjs`` script runs under ``node`` with the gateway's URL and key in its
environment and prints one JSON line: its results and every request body the SDK sent. The
simulator's request log then shows what grok.com was asked, so a 200 built on a lost history
still fails. ``npm ci --prefix tests/node`` installs the pinned clients (the README's test
command does); without them these tests fail under CI and skip locally.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import API_KEY, GatewayFactory, Sim

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
FAST = "grok-4.20-0309-non-reasoning"  # grok.com fast mode: answers "Echo: <last user text> …"
REASONING = "grok-4.20-0309-reasoning"  # expert mode: thinks first (the registry's reasoning)


def _need_node() -> str:
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "tests/node/node_modules is missing: run `npm ci --prefix tests/node`"
        if not (NODE_DIR / "node_modules").is_dir()
        else None
    )
    if missing is None:
        assert node is not None
        return node
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the Node client tests cannot run: {missing}")
    pytest.skip(missing)


def run_script(name: str, base: str, model: str) -> dict[str, Any]:
    """Run ``tests/node/<name>`` against ``base`` and return its JSON line."""
    node = _need_node()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")},
        "GATEWAY_BASE_URL": base,
        "GATEWAY_API_KEY": API_KEY,
        "GATEWAY_MODEL": model,
    }
    done = subprocess.run(
        [node, str(NODE_DIR / name)],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing (exit {done.returncode}):\n{done.stderr}"
    out: dict[str, Any] = json.loads(lines[-1])
    assert out["ok"], f"{name} failed: {json.dumps(out, indent=1)[:6000]}\n{done.stderr[-2000:]}"
    assert done.returncode == 0, done.stderr
    return out


def last_message(sim: Sim) -> str:
    """The single message grok.com got for the last turn (the whole flattened history)."""
    return str(sim.state.chat_requests()[-1].body["message"])


def test_vercel_generate_text_three_turns(make_gateway: GatewayFactory, sim: Sim) -> None:
    out = run_script("vercel_generate_turns.mjs", make_gateway().url, FAST)
    prompts, answers = out["prompts"], out["answers"]
    for prompt, answer in zip(prompts, answers, strict=True):
        assert answer.startswith(f"Echo: {prompt} [sha:"), answer
    history = last_message(sim)  # the third turn carried the first two, answers included
    for text in [*prompts, *answers[:2]]:
        assert text.split(" [sha:")[0] in history
    assert len(sim.state.chat_requests()) == 3


def test_vercel_stream_text_tool_loop_on_a_reasoning_model(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    out = run_script("vercel_stream_tool_loop.mjs", make_gateway().url, REASONING)
    assert out["executed"] == ["Paris"]
    assert [s["toolCalls"] for s in out["steps"]] == [["get_weather"], []]
    assert out["steps"][-1]["finishReason"] == "stop"
    assert out["text"].startswith("Tool result received: ")
    assert "sunny and 21 C in Paris" in out["text"]
    history = last_message(sim)  # step 2 carried the question and the call, not the result alone
    assert "What is the weather in Paris?" in history
    assert "<tool_name>get_weather</tool_name>" in history


def test_vercel_ui_messages_through_convert_to_model_messages(
    make_gateway: GatewayFactory, sim: Sim
) -> None:
    out = run_script("vercel_ui_chat.mjs", make_gateway().url, FAST)
    prompts, answers = out["prompts"], out["answers"]
    for prompt, answer in zip(prompts, answers, strict=True):
        assert answer.startswith(f"Echo: {prompt} [sha:"), answer
    history = last_message(sim)
    assert prompts[0] in history and answers[0].split(" [sha:")[0] in history


def test_anthropic_tool_runner_two_tools(make_gateway: GatewayFactory, sim: Sim) -> None:
    out = run_script("anthropic_tool_runner.mjs", make_gateway().url, FAST)
    assert sorted(out["executed"]) == ["get_time:Paris", "get_weather:Paris"]
    assert [t["stop_reason"] for t in out["turns"]] == ["tool_use", "tool_use", "end_turn"]
    # built from both results: only a thread that kept the first turn gives this answer
    assert out["text"] == "Tool result received: sunny and 21 C in Paris; 10:42 in Paris"
    history = last_message(sim)
    for text in (
        "Weather and time in Paris, one at a time",
        "<tool_name>get_weather</tool_name>",
        "<tool_name>get_time</tool_name>",
        "sunny and 21 C in Paris",
        "10:42 in Paris",
    ):
        assert text in history, text
