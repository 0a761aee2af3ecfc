"""``grokgate serve`` as a user runs it: a real process, demo mode, the openai SDK against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from grokgate.cli import banner, statsig_notice, wants_demo
from grokgate.config import Settings
from tests.support import free_port, wait_healthy


def _serve(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grokgate.cli", "serve", "--port", str(port), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.fixture
def demo_port(tmp_path: Path) -> Iterator[int]:
    proc, port = _serve(tmp_path)
    yield port
    _stop(proc)


def test_serve_without_accounts_starts_demo_mode(demo_port: int) -> None:
    port = demo_port
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
    assert "grok-4.20-fast" in [m.id for m in client.models.list()]
    stream = client.chat.completions.create(
        model="grok-4.20-auto", messages=[{"role": "user", "content": "hello demo"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("Echo: hello demo [sha:")
    out = client.chat.completions.create(
        model="grok-4.20-multi-agent-0309", messages=[{"role": "user", "content": "heavy"}]
    )
    assert out.choices[0].message.content
    # the default transport (auto) talks to the simulator's WebSocket gateway; the xAI models
    # are served by the fake xAI API with the demo key
    xai = client.chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "hello xai"}]
    )
    assert xai.choices[0].message.content == "Echo: hello xai"
    claude = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="x", max_retries=0)
    with claude.messages.stream(
        model="grok-4", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: hi"


def test_demo_banner_shows_base_url_curl_and_open_warning(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path)
    out = _stop(proc)
    assert "DEMO MODE" in out
    assert f"OpenAI base URL: http://127.0.0.1:{port}/v1" in out
    assert f"curl -N http://127.0.0.1:{port}/v1/chat/completions" in out
    assert "OPEN to anyone" in out


def test_no_demo_without_accounts_answers_503(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path, "--no-demo", env={"GROKGATE_API_KEYS": "sk-cli-test-key"})
    try:
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-cli-test-key", max_retries=0
        )
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(
                model="grok-4.20-fast", messages=[{"role": "user", "content": "x"}]
            )
        assert info.value.status_code == 503
    finally:
        out = _stop(proc)
    assert "DEMO MODE" not in out and "OPEN to anyone" not in out


def test_wants_demo_rules(tmp_path: Path) -> None:
    base = Settings(_env_file=None, data_dir=tmp_path)
    assert wants_demo(base, None) is True
    assert wants_demo(base, False) is False
    with_tokens = Settings(_env_file=None, data_dir=tmp_path, sso_tokens="super:abc")
    assert wants_demo(with_tokens, None) is False
    with_keys = Settings(_env_file=None, data_dir=tmp_path, xai_api_keys="xai-abc")
    assert wants_demo(with_keys, None) is False
    assert wants_demo(Settings(_env_file=None, data_dir=tmp_path, demo=False), None) is False
    cloud = Settings(_env_file=None, data_dir=tmp_path, store="dynamodb")
    assert wants_demo(cloud, None) is False  # never looks at, nor replaces, a shared pool
    assert wants_demo(cloud, True) is True


def test_banner_mentions_auth_header_when_keys_are_set(tmp_path: Path) -> None:
    keyed = Settings(_env_file=None, data_dir=tmp_path, api_keys="k1,k2")
    text = banner(keyed, "0.0.0.0", 9000, demo=False)
    assert "http://127.0.0.1:9000/v1" in text
    assert "Authorization: Bearer" in text and "k1" not in text


def test_start_up_says_when_the_synthetic_statsig_would_be_sent(tmp_path: Path) -> None:
    import asyncio

    from grokgate.stores.sqlite import SqliteAccountStore
    from grokgate.upstream.grokweb.statsig_live import StatsigPair, write_pair

    bare = Settings(_env_file=None, data_dir=tmp_path)
    assert "synthetic x1:" in (statsig_notice(bare) or "")
    seeded = Settings(
        _env_file=None, data_dir=tmp_path, statsig_header_hex="00" * 49, statsig_suffix="s"
    )
    assert statsig_notice(seeded) is None
    assert statsig_notice(Settings(_env_file=None, statsig_provider_url="http://p/s")) is None

    async def store_one() -> None:
        store = SqliteAccountStore(bare.db_path)
        await write_pair(store, StatsigPair("00" * 49, "s"))
        await store.close()

    asyncio.run(store_one())
    assert statsig_notice(bare) is None  # a pair set with `grokgate statsig set`
