"""x-statsig-id signers (docs/grok-protocol.md §9): in-process, synthetic, provider, and the
factory."""

from __future__ import annotations

import base64
import hashlib
import json
import struct

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.errors import UpstreamError, Verdict
from grokgate.simulator.statsig import DEMO_CONSTANTS, verify
from grokgate.simulator.statsig import EPOCH as SIM_EPOCH
from grokgate.upstream.grokweb import statsig
from grokgate.upstream.grokweb.statsig import (
    InProcessSigner,
    ProviderSigner,
    SyntheticSigner,
    build_signer,
    decode,
)
from tests.support import FakeClock

CHAT = "/rest/app-chat/conversations/new"
HEADER = DEMO_CONSTANTS.header
SUFFIX = DEMO_CONSTANTS.suffix
NOW = 1_760_000_123.75  # a fixed wall clock (fraction on purpose: the counter truncates)
EPOCH = 1682924400


def _signer(key: int, *, trailer: int = 3, header: bytes = HEADER) -> InProcessSigner:
    return InProcessSigner(header, SUFFIX, trailer, clock=lambda: NOW, key_source=lambda: key)


def _expected_regions(key: int, method: str = "POST", path: str = CHAT, trailer: int = 3):
    counter = int(NOW) - 1682924400
    digest = hashlib.sha256(f"{method}!{path}!{counter}{SUFFIX}".encode()).digest()[:16]
    return {
        "key": key,
        "meta": bytes(b ^ key for b in HEADER[1:49]),
        "counter": bytes(b ^ key for b in struct.pack("<I", counter)),
        "hash": bytes(b ^ key for b in digest),
        "trailer": trailer ^ key,
    }


# --- InProcessSigner ----------------------------------------------------------------------


def test_epoch_constant_matches_the_simulator_and_the_note() -> None:
    assert statsig.EPOCH == EPOCH == SIM_EPOCH
    assert statsig.TOKEN_BYTES == 70


@pytest.mark.parametrize("key", [0x5A, 0x01, 0xFF])
def test_in_process_token_every_byte_region(key: int) -> None:
    token = _signer(key).token("POST", CHAT)
    raw = decode(token)
    want = _expected_regions(key)
    assert len(raw) == 70
    assert raw[0] == want["key"]
    assert raw[1:49] == want["meta"]
    assert raw[49:53] == want["counter"]
    assert raw[53:69] == want["hash"]
    assert raw[69] == want["trailer"]
    # and the whole token, rebuilt from scratch
    assert raw == bytes([key]) + want["meta"] + want["counter"] + want["hash"] + bytes(
        [want["trailer"]]
    )


def test_in_process_token_is_unpadded_standard_base64() -> None:
    token = _signer(0x42).token("POST", CHAT)
    assert "=" not in token
    assert len(token) == 94  # 70 bytes → 93.3 chars, rounded up, padding removed
    assert base64.b64decode(token + "==", validate=True) == decode(token)


def test_key_zero_leaves_the_plain_bytes() -> None:
    raw = decode(_signer(0).token("POST", CHAT))
    counter = int(NOW) - EPOCH
    digest = hashlib.sha256(f"POST!{CHAT}!{counter}{SUFFIX}".encode()).digest()[:16]
    assert raw == b"\x00" + HEADER[1:49] + struct.pack("<I", counter) + digest + b"\x03"


def test_key_source_is_masked_to_one_byte() -> None:
    assert decode(_signer(0x1A5).token("POST", CHAT))[0] == 0xA5


def test_trailer_is_configurable() -> None:
    raw = decode(_signer(0x10, trailer=9).token("POST", CHAT))
    assert raw[69] == 9 ^ 0x10


def test_explicit_now_overrides_the_clock() -> None:
    signer = _signer(0)
    raw = decode(signer.token("POST", CHAT, now=EPOCH + 1234))
    assert struct.unpack("<I", raw[49:53])[0] == 1234


def test_different_keys_give_different_tokens_that_both_verify() -> None:
    a = _signer(0x11).token("POST", CHAT)
    b = _signer(0xC3).token("POST", CHAT)
    assert a != b
    assert verify(a, "POST", CHAT, DEMO_CONSTANTS, NOW) is None
    assert verify(b, "POST", CHAT, DEMO_CONSTANTS, NOW) is None


@settings(max_examples=200, deadline=None)
@given(
    key=st.integers(0, 255),
    offset=st.integers(0, 2**31),
    path=st.text(st.characters(codec="utf-8"), max_size=30).map(lambda s: "/" + s),
    method=st.sampled_from(["POST", "post", "Get", "GET", "delete"]),
)
def test_in_process_tokens_always_verify_with_the_simulator(
    key: int, offset: int, path: str, method: str
) -> None:
    now = EPOCH + offset + 0.5
    signer = InProcessSigner(HEADER, SUFFIX, 3, clock=lambda: now, key_source=lambda: key)
    token = signer.token(method, path)
    assert verify(token, method.upper(), path, DEMO_CONSTANTS, now) is None


def test_method_is_upper_cased() -> None:
    signer = _signer(0x33)
    assert signer.token("post", CHAT) == signer.token("POST", CHAT)
    assert decode(signer.token("post", CHAT))[53:69] == _expected_regions(0x33)["hash"]
    assert signer.token("GET", CHAT) != signer.token("POST", CHAT)


def test_a_wrong_path_or_suffix_does_not_verify() -> None:
    token = _signer(0x20).token("POST", CHAT)
    assert verify(token, "POST", "/rest/rate-limits", DEMO_CONSTANTS, NOW) == "bad_hash"


@pytest.mark.parametrize("size", [0, 48, 50, 70])
def test_header_that_is_not_49_bytes_is_rejected(size: int) -> None:
    with pytest.raises(ValueError):
        InProcessSigner(b"\x00" * size, SUFFIX)


async def test_in_process_sign_is_async_and_uses_the_clock() -> None:
    signer = _signer(0x77)
    assert await signer.sign("POST", CHAT) == signer.token("POST", CHAT)
    signer.invalidate()  # a no-op, but part of the protocol
    assert signer.kind == "signed"


# --- SyntheticSigner ----------------------------------------------------------------------


def test_synthetic_values_decode_to_the_sdk_failure_text() -> None:
    signer = SyntheticSigner()
    texts = [base64.b64decode(signer.token(), validate=True).decode() for _ in range(200)]
    prefix = "x1:TypeError: Cannot read properties of"
    assert all(t.startswith(prefix) for t in texts)
    nulls = [t for t in texts if t.startswith(prefix + " null")]
    undefineds = [t for t in texts if t.startswith(prefix + " undefined")]
    assert nulls and undefineds  # both variants appear
    assert len(nulls) + len(undefineds) == len(texts)
    assert len(set(texts)) > 150  # a fresh random pick per value


def test_synthetic_is_accepted_by_the_simulator_only_when_asked() -> None:
    value = SyntheticSigner().token()
    assert verify(value, "POST", CHAT, DEMO_CONSTANTS, NOW, accept_synthetic=True) is None
    assert verify(value, "POST", CHAT, DEMO_CONSTANTS, NOW) == "synthetic_rejected"


async def test_synthetic_sign() -> None:
    signer = SyntheticSigner()
    value = await signer.sign("POST", CHAT)
    assert base64.b64decode(value).startswith(b"x1:")
    signer.invalidate()
    assert signer.kind == "synthetic"


# --- ProviderSigner -----------------------------------------------------------------------

GOOD = _signer(0x5C).token("POST", CHAT)
GOOD2 = _signer(0x9E).token("POST", CHAT)


class Provider:
    """A MockTransport handler that records what it was asked and answers in turn."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def _provider(handler: Provider, **kw) -> ProviderSigner:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ProviderSigner("https://signer.test/sign", http, **kw)


async def test_provider_posts_method_and_path() -> None:
    handler = Provider(httpx.Response(200, json={"x-statsig-id": GOOD}))
    signer = _provider(handler)
    assert await signer.sign("post", CHAT) == GOOD
    (request,) = handler.requests
    assert request.method == "POST"
    assert str(request.url) == "https://signer.test/sign"
    assert handler.bodies == [{"method": "POST", "path": CHAT}]
    assert signer.kind == "provider"


async def test_provider_gets_the_seed_as_metacontent_and_refreshes() -> None:
    handler = Provider(httpx.Response(200, json={"x-statsig-id": GOOD}))
    signer = _provider(handler, seed=HEADER[1:49])
    await signer.sign("POST", CHAT)
    (body,) = handler.bodies
    assert base64.b64decode(body["environment"]["metaContent"] + "==") == HEADER[1:49]
    assert await signer.refresh() is True  # a rejection: the next token is fetched afresh
    await signer.sign("POST", CHAT)
    assert len(handler.requests) == 2


async def test_provider_caches_per_method_and_path_within_ttl() -> None:
    clock = FakeClock(1000.0)
    handler = Provider(httpx.Response(200, json={"x-statsig-id": GOOD}))
    signer = _provider(handler, ttl=60.0, clock=clock)
    assert await signer.sign("POST", CHAT) == GOOD
    clock.now += 59.0
    assert await signer.sign("POST", CHAT) == GOOD
    assert await signer.sign("post", CHAT) == GOOD  # same key after upper-casing
    assert len(handler.requests) == 1
    await signer.sign("POST", "/rest/rate-limits")
    assert len(handler.requests) == 2
    assert handler.bodies[1] == {"method": "POST", "path": "/rest/rate-limits"}
    clock.now += 1.5  # past the ttl for the first key
    await signer.sign("POST", CHAT)
    assert len(handler.requests) == 3


async def test_provider_invalidate_refetches() -> None:
    handler = Provider(
        httpx.Response(200, json={"x-statsig-id": GOOD}),
        httpx.Response(200, json={"x-statsig-id": GOOD2}),
    )
    signer = _provider(handler, clock=FakeClock(1000.0))
    assert await signer.sign("POST", CHAT) == GOOD
    assert await signer.sign("POST", CHAT) == GOOD
    signer.invalidate()
    assert await signer.sign("POST", CHAT) == GOOD2
    assert len(handler.requests) == 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"x-statsig-id": GOOD}),
        httpx.Response(200, json={"token": GOOD}),
        httpx.Response(200, text=GOOD),
        httpx.Response(200, text=f"  {GOOD}\n"),
        httpx.Response(200, text=GOOD + "=="),
    ],
    ids=["x-statsig-id", "token", "plain", "plain-whitespace", "plain-padded"],
)
async def test_provider_accepts_every_answer_shape(response: httpx.Response) -> None:
    signer = _provider(Provider(response))
    value = await signer.sign("POST", CHAT)
    assert decode(value) == decode(GOOD)


SHORT = base64.b64encode(b"\x00" * 69).decode()
LONG = base64.b64encode(b"\x00" * 71).decode()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"x-statsig-id": GOOD}),
        httpx.Response(403, text="<html>Just a moment...</html>"),
        httpx.Response(201, json={"x-statsig-id": GOOD}),
        httpx.Response(200, json={"x-statsig-id": SHORT}),
        httpx.Response(200, json={"x-statsig-id": LONG}),
        httpx.Response(200, text=SHORT),
        httpx.Response(200, json={"x-statsig-id": "not base64 at all!"}),
        httpx.Response(200, json={"x-statsig-id": "é" * 94}),
        httpx.Response(200, json={"x-statsig-id": ""}),
        httpx.Response(200, json={"x-statsig-id": 12345}),
        httpx.Response(200, json={"other": GOOD}),
        httpx.Response(200, json=[GOOD]),
        httpx.Response(200, text=""),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=[
        "500",
        "403-html",
        "201",
        "69-bytes",
        "71-bytes",
        "plain-69-bytes",
        "not-base64",
        "non-ascii",
        "empty",
        "number",
        "no-token-key",
        "json-list",
        "empty-body",
        "connect-error",
        "timeout",
    ],
)
async def test_provider_failures_are_challenged_upstream_errors(
    answer: httpx.Response | Exception,
) -> None:
    handler = Provider(answer)
    signer = _provider(handler)
    with pytest.raises(UpstreamError) as info:
        await signer.sign("POST", CHAT)
    assert info.value.verdict is Verdict.CHALLENGED
    assert GOOD not in info.value.message
    assert len(handler.requests) == 1


async def test_provider_failure_is_not_cached() -> None:
    handler = Provider(httpx.Response(502), httpx.Response(200, json={"x-statsig-id": GOOD}))
    signer = _provider(handler, clock=FakeClock(1000.0))
    with pytest.raises(UpstreamError):
        await signer.sign("POST", CHAT)
    assert await signer.sign("POST", CHAT) == GOOD


# --- build_signer -------------------------------------------------------------------------


async def test_build_signer_prefers_provider_then_in_process_then_synthetic() -> None:
    async with httpx.AsyncClient() as http:
        hexed = HEADER.hex()
        both = build_signer(
            header_hex=hexed, suffix=SUFFIX, trailer=3, provider_url="https://p/s", http=http
        )
        assert isinstance(both, ProviderSigner)
        assert both.url == "https://p/s"
        assert both.http is http

        local = build_signer(
            header_hex=hexed, suffix=SUFFIX, trailer=7, provider_url=None, http=http
        )
        assert isinstance(local, InProcessSigner)
        assert local.meta == HEADER[1:49]
        assert local.suffix == SUFFIX
        assert local.trailer == 7
        value = await local.sign("POST", CHAT)
        assert decode(value)[69] ^ decode(value)[0] == 7

        empty_suffix = build_signer(
            header_hex=hexed, suffix="", trailer=3, provider_url="", http=http
        )
        assert isinstance(empty_suffix, InProcessSigner)

        for header_hex, suffix in [(None, SUFFIX), (hexed, None), ("", SUFFIX), (None, None)]:
            fallback = build_signer(
                header_hex=header_hex, suffix=suffix, trailer=3, provider_url=None, http=http
            )
            assert isinstance(fallback, SyntheticSigner)
