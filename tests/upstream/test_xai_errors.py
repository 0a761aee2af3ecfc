"""xAI API error answers → grokgate's error tree: what the client sees, what the pool learns."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grokgate.errors import UpstreamRejectedError, Verdict
from grokgate.upstream.xai.errors import classify_xai, message_of

KEY = "xai-SecretKey0123456789abcdefABCDEF"


def body(message: str, code: str = "x") -> bytes:
    return json.dumps({"error": {"message": message, "type": "t", "code": code}}).encode()


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_client_mistakes_keep_status_and_message_and_are_not_retried(status: int) -> None:
    error = classify_xai(status, {}, body("messages must not be empty", "invalid_request"))
    assert isinstance(error, UpstreamRejectedError)
    assert error.status == status and error.message == "messages must not be empty"
    assert error.code == "invalid_request" and not error.retryable
    assert error.verdict is Verdict.REJECTED


def test_anthropic_types_follow_the_status() -> None:
    assert classify_xai(404, {}, b"{}").anthropic_type == "not_found_error"
    assert classify_xai(413, {}, b"{}").anthropic_type == "request_too_large"
    assert classify_xai(422, {}, b"{}").anthropic_type == "invalid_request_error"


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (401, Verdict.EXPIRED),
        (403, Verdict.UNAVAILABLE),
        (429, Verdict.RATE_LIMITED),
        (498, Verdict.UNAVAILABLE),
        (500, Verdict.UNAVAILABLE),
        (502, Verdict.UNAVAILABLE),
        (503, Verdict.UNAVAILABLE),
    ],
)
def test_account_failures_are_retryable_502s_with_a_verdict(status: int, verdict: Verdict):
    error = classify_xai(status, {"retry-after": "12"}, body("nope"))
    assert error.verdict is verdict and error.retryable and error.status == 502
    assert str(status) in error.message
    assert error.retry_after == (12.0 if status == 429 else None)


def test_keys_echoed_by_the_upstream_are_stripped() -> None:
    error = classify_xai(401, {}, body(f"Incorrect API key provided: {KEY}"))
    assert KEY not in error.message and "xai-***" in error.message


@pytest.mark.parametrize(
    "raw",
    [b'{"error": "plain string"}', b'{"code": "c", "error": "plain string"}', b"plain string"],
)
def test_other_error_shapes(raw: bytes) -> None:
    assert message_of(raw) == "plain string"


@given(st.binary(max_size=300))
def test_any_body_gives_a_short_message(raw: bytes) -> None:
    message = message_of(raw)
    assert message and len(message) <= 500
