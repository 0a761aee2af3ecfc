"""What grok.com's failures mean (docs/grok-protocol.md §8.5)."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest

from grokgate.errors import UpstreamError, Verdict
from grokgate.upstream.grokweb.classify import classify_http, classify_inband, parse_retry_after

CF_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    '<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8"></script>'
    "</div></body></html>"
)
ANTI_BOT = '{"error":{"message":"Request rejected by anti-bot rules.","code":7,"details":[]}}'
BLOCKED = (
    '{"code":7,"message":"User is blocked: Bot abuse - free tier account '
    '[WKE=unauthorized:blocked-user]","details":[]}'
)
CREDENTIAL_MARKERS = [
    "invalid-credentials",
    "bad-credentials",
    "failed to look up session id",
    "email-domain-rejected",
    "session not found",
    "token revoked",
    "token expired",
]


def _h(**headers: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()})


# --- credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "Unauthorized", '{"error":"unauthenticated"}', CF_PAGE])
def test_401_is_expired(body: str) -> None:
    err = classify_http(401, _h(), body)
    assert isinstance(err, UpstreamError)
    assert err.verdict is Verdict.EXPIRED
    assert err.upstream_status == 401


@pytest.mark.parametrize("status", [400, 401, 403])
@pytest.mark.parametrize("marker", CREDENTIAL_MARKERS)
def test_credential_markers_are_expired(status: int, marker: str) -> None:
    body = json.dumps({"code": 16, "message": f"Oops. [WKE=unauthenticated:{marker}]"})
    err = classify_http(status, _h(), body)
    assert err.verdict is Verdict.EXPIRED
    assert err.upstream_status == status
    # upper-case in the body still counts
    assert classify_http(status, _h(), body.upper()).verdict is Verdict.EXPIRED


def test_email_domain_rejected_400_is_expired() -> None:
    body = (
        '{"code":3,"message":"This email domain has been rejected. '
        '[WKE=account:email-domain-rejected]"}'
    )
    err = classify_http(400, _h(), body)
    assert err.verdict is Verdict.EXPIRED
    assert "email domain has been rejected" in err.message


def test_account_suspended_is_a_terminal_account_verdict() -> None:
    # §8.5: PY2 lists it with the credential markers (PY2 marks the account expired); grokgate
    # treats a suspension as a ban. Either way the account must never be picked again.
    err = classify_http(403, _h(), '{"message":"account suspended"}')
    assert err.verdict in (Verdict.EXPIRED, Verdict.BLOCKED)


@pytest.mark.parametrize("status", [400, 403])
def test_blocked_user_is_blocked(status: int) -> None:
    err = classify_http(status, _h(), BLOCKED)
    assert err.verdict is Verdict.BLOCKED
    assert err.upstream_status == status
    assert "User is blocked" in err.message


# --- challenges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (_h(content_type="text/html"), CF_PAGE),
        (_h(), "<html><head><title>Just a moment...</title></head></html>"),
        (_h(cf_mitigated="challenge"), '{"error":"forbidden"}'),
        (httpx.Headers({"CF-Mitigated": "Challenge"}), "nope"),
        ({"cf-mitigated": "challenge"}, "x"),
        (_h(), ""),
        (_h(), "   \n"),
        (_h(), "This page is out of date. Reload to continue."),
        (_h(), "see /cdn-cgi/challenge-platform/ for details"),
        (_h(), "window.__cf_chl_opt = {}"),
        (_h(), "cf-chl-widget"),
        (_h(), "<HTML><BODY>Forbidden</BODY></HTML>"),
    ],
    ids=[
        "cf-page",
        "just-a-moment",
        "cf-mitigated",
        "cf-mitigated-case",
        "plain-dict-headers",
        "empty",
        "blank",
        "out-of-date",
        "challenge-platform",
        "__cf_chl",
        "cf-chl-",
        "html-403",
    ],
)
def test_cloudflare_challenges(headers, body: str) -> None:
    err = classify_http(403, headers, body)
    assert err.verdict is Verdict.CHALLENGED
    assert err.code == "upstream_challenge"
    assert err.upstream_status == 403
    assert "<" not in err.message


def test_anti_bot_403() -> None:
    err = classify_http(403, _h(content_type="application/json"), ANTI_BOT)
    assert err.verdict is Verdict.CHALLENGED
    assert err.code == "upstream_anti_bot"
    assert err.upstream_status == 403
    assert "Request rejected by anti-bot rules." in err.message
    spaced = classify_http(403, _h(), '{"error": {"code": 7, "message": "rejected"}}')
    assert spaced.code == "upstream_anti_bot"


def test_other_403_json_is_a_plain_refusal() -> None:
    err = classify_http(403, _h(), '{"error":{"code":9,"message":"Forbidden region"}}')
    assert err.code == "upstream_error"
    assert err.verdict is Verdict.UNAVAILABLE
    assert "Forbidden region" in err.message


# --- rate limits -----------------------------------------------------------------------------


def test_429_with_retry_after_seconds() -> None:
    err = classify_http(429, _h(retry_after="30"), '{"error":{"code":8,"message":"slow down"}}')
    assert err.verdict is Verdict.RATE_LIMITED
    assert err.upstream_status == 429
    assert err.retry_after == 30.0
    assert err.headers() == {"Retry-After": "30"}
    assert "slow down" in err.message


def test_429_with_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    err = classify_http(429, httpx.Headers({"Retry-After": when}), "")
    assert err.verdict is Verdict.RATE_LIMITED
    assert err.retry_after is not None
    assert 115 <= err.retry_after <= 121


def test_429_without_retry_after() -> None:
    err = classify_http(429, _h(), "Too Many Requests")
    assert err.verdict is Verdict.RATE_LIMITED
    assert err.retry_after is None
    assert err.headers() == {}


@pytest.mark.parametrize("value", ["inf", "1e999", "Infinity"])
def test_429_with_an_overflowing_retry_after_still_renders(value: str) -> None:
    err = classify_http(429, _h(retry_after=value), "")
    assert err.retry_after is None or err.retry_after < 10**9
    err.headers()  # must not raise


# --- outages and other statuses --------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable_and_retryable(status: int) -> None:
    err = classify_http(status, _h(), '{"code":13,"message":"Failed to send request."}')
    assert err.verdict is Verdict.UNAVAILABLE
    assert err.retryable is True
    assert err.upstream_status == status
    assert str(status) in err.message
    assert "Failed to send request." in err.message


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, "Bad Request"), (400, '{"error":{"message":"bad field"}}'), (404, ""), (422, "{}")],
)
def test_other_4xx_are_not_retryable(status: int, body: str) -> None:
    err = classify_http(status, _h(), body)
    assert err.retryable is False
    assert err.upstream_status == status
    assert err.verdict not in (Verdict.EXPIRED, Verdict.BLOCKED, Verdict.RATE_LIMITED)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 502, 503])
@pytest.mark.parametrize(
    "body",
    [CF_PAGE, "<html><body><h1>502 Bad Gateway</h1></body></html>", "<!doctype html><p>x</p>"],
)
def test_error_messages_never_contain_html(status: int, body: str) -> None:
    err = classify_http(status, _h(content_type="text/html"), body)
    assert "<" not in err.message
    assert "Just a moment" not in err.message
    assert "cdn-cgi" not in err.message


def test_upstream_message_is_truncated() -> None:
    err = classify_http(500, _h(), json.dumps({"message": "x" * 5000}))
    assert len(err.message) < 400


# --- parse_retry_after -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("12", 12.0),
        ("  7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("soon", None),
        ("12 seconds", None),
    ],
)
def test_parse_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_dates() -> None:
    base = 1_760_000_000.0
    future = email.utils.formatdate(base + 90, usegmt=True)
    past = email.utils.formatdate(base - 90, usegmt=True)
    assert parse_retry_after(future, now=base) == pytest.approx(90.0)
    assert parse_retry_after(past, now=base) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60.0
    assert parse_retry_after("Wed, 99 Foo 2015 07:28:00 GMT", now=base) is None


@pytest.mark.parametrize("value", ["inf", "nan", "1e999", "-inf"])
def test_parse_retry_after_rejects_non_finite_numbers(value: str) -> None:
    got = parse_retry_after(value)
    assert got is None or (got == got and got != float("inf"))


# --- classify_inband directly ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "nested", "verdict"),
    [
        ({"code": 7, "message": "Request rejected by anti-bot rules."}, False, Verdict.CHALLENGED),
        ({"message": "anti-bot"}, True, Verdict.CHALLENGED),
        ({"code": 8, "message": "rate limited"}, False, Verdict.RATE_LIMITED),
        ({"message": "You have reached your usage limit"}, True, Verdict.RATE_LIMITED),
        ({"code": 13, "message": "Failed to send request."}, False, Verdict.UNAVAILABLE),
        ({"message": "x", "modelNotAvailable": {}}, True, Verdict.MODE_UNAVAILABLE),
        ({"message": "x", "modelNotAvailable": {}}, False, Verdict.UNAVAILABLE),
        ({"message": "token expired"}, True, Verdict.EXPIRED),
        ({"message": "[WKE=unauthorized:blocked-user]", "code": 7}, False, Verdict.BLOCKED),
        ("plain string error", True, Verdict.UNAVAILABLE),
        ({}, False, Verdict.UNAVAILABLE),
    ],
)
def test_classify_inband(error, nested: bool, verdict: Verdict) -> None:
    err = classify_inband(error, nested=nested)
    assert isinstance(err, UpstreamError)
    assert err.verdict is verdict
