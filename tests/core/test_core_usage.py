"""Token estimates with tiktoken o200k_base (docs/grok-protocol.md §11), offline from the vendored
file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grokgate.core.usage import Usage, count_tokens, estimate_usage, warm_up

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # tiktoken's

# The child process cannot open a socket, so any download attempt fails loudly.
OFFLINE_COUNT = """
import socket

def _no_network(*args, **kwargs):
    raise OSError("network disabled by the test")

socket.socket.connect = _no_network
socket.socket.connect_ex = _no_network
socket.create_connection = _no_network
socket.getaddrinfo = _no_network

from grokgate.core.usage import count_tokens
print(count_tokens("hello world"), count_tokens("The quick brown fox jumps over the lazy dog."))
"""


def run_offline(cache_dir: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_GYM_CACHE_DIR",)}
    env["TIKTOKEN_CACHE_DIR"] = cache_dir
    env["TMPDIR"] = str(tmp_path)  # where a fallback cache would go: keep it in the test's dir
    return subprocess.run(
        [sys.executable, "-c", OFFLINE_COUNT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def reference_counts(text: str) -> int:
    import tiktoken

    warm_up()  # seeds tiktoken's cache, so this works offline too
    return len(tiktoken.get_encoding("o200k_base").encode(text, disallowed_special=()))


def test_empty_text_is_zero_tokens() -> None:
    assert count_tokens("") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", 2),
        ("Hello, world!", 4),
        ("The quick brown fox jumps over the lazy dog.", 10),
    ],
)
def test_known_counts(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "Grok 4.20 — 快速回答 🚀",
        "def f(x):\n    return x ** 2\n",
        "a" * 1000,
        '{"tool": "get_weather", "parameters": {"city": "Paris"}}',
    ],
)
def test_counts_match_tiktoken_o200k_base(text: str) -> None:
    assert count_tokens(text) == reference_counts(text)


@pytest.mark.parametrize(
    "text", ["<|endoftext|>", "before <|endofprompt|> after", "<|fim_prefix|>"]
)
def test_special_token_text_is_counted_as_plain_text(text: str) -> None:
    n = count_tokens(text)
    assert n == reference_counts(text)
    assert n > 1


def test_estimate_usage() -> None:
    usage = estimate_usage("hello world", "Hello, world!", "hello world")
    assert usage == Usage(prompt_tokens=2 + 4, completion_tokens=4 + 2, reasoning_tokens=2)
    assert usage.total_tokens == 12


def test_estimate_usage_of_nothing() -> None:
    usage = estimate_usage("", "", "")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (4, 0, 0)
    assert usage.total_tokens == 4


def test_estimate_usage_without_reasoning() -> None:
    usage = estimate_usage("hello world", "hello world", "")
    assert usage.reasoning_tokens == 0
    assert usage.completion_tokens == 2
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens == 8


def test_counts_offline_from_the_vendored_rank_file(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    result = run_offline(str(cache), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["2", "10"]
    cached = cache / hashlib.sha1(O200K_URL.encode()).hexdigest()
    assert cached.is_file()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == O200K_SHA256


def test_counts_offline_when_tiktoken_caching_is_disabled(tmp_path: Path) -> None:
    # tiktoken reads TIKTOKEN_CACHE_DIR="" as "no cache": the rank file must still not be fetched.
    result = run_offline("", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["2", "10"]
