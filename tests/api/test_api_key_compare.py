"""API keys are compared in constant time: every configured key, with hmac.compare_digest, and no
early exit. (No timing is measured: the calls are counted.)"""

from __future__ import annotations

import hmac

import httpx
import pytest
from pydantic import SecretStr

from grokgate.api import deps
from grokgate.api.deps import key_matches
from tests.support import API_KEY

KEYS = ["sk-first-0123456789", "sk-middle-0123456789", "sk-last-0123456789"]


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every (given, key) pair that deps' ``hmac.compare_digest`` was called with."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(deps.hmac, "compare_digest", counting)
    return calls


@pytest.mark.parametrize(
    ("supplied", "expected"),
    [(KEYS[0], True), (KEYS[1], True), (KEYS[-1], True), ("sk-wrong-0123456789", False)],
)
def test_every_key_is_compared_whatever_matches(
    compared: list[tuple[bytes, bytes]], supplied: str, expected: bool
) -> None:
    assert key_matches(supplied, [SecretStr(k) for k in KEYS]) is expected
    assert [key for _, key in compared] == [k.encode() for k in KEYS]  # all, in order
    assert all(given == supplied.encode() for given, _ in compared)


@pytest.mark.parametrize(
    "supplied",
    [
        KEYS[0][:-1],  # a prefix
        KEYS[0] + "x",  # longer
        "x" + KEYS[0],
        KEYS[0].upper(),
        "",
        KEYS[0] + "\x00",
        KEYS[0][:-1] + "é",  # not ASCII
        ",".join(KEYS),  # the whole configured list
    ],
)
def test_near_misses_are_rejected(compared: list[tuple[bytes, bytes]], supplied: str) -> None:
    assert key_matches(supplied, [SecretStr(k) for k in KEYS]) is False
    assert len(compared) == len(KEYS)


def test_no_keys_matches_nothing() -> None:
    assert key_matches(API_KEY, []) is False


def test_the_gateway_refuses_near_misses(gateway: str) -> None:
    ok = httpx.get(f"{gateway}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
    assert ok.status_code == 200
    for wrong in (API_KEY[:-1], API_KEY + "0", API_KEY.upper(), f"{API_KEY},{API_KEY}"):
        for header in ({"Authorization": f"Bearer {wrong}"}, {"x-api-key": wrong}):
            answer = httpx.get(f"{gateway}/v1/models", headers=header)
            assert answer.status_code == 401, wrong
            assert answer.json()["error"]["code"] == "invalid_api_key"
            assert wrong not in answer.text
