"""XaiClient on a mock transport: failures while reading an answer stay in the error tree."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from grokgate.errors import UpstreamError, UpstreamStreamError, Verdict
from grokgate.stores.records import Account, AccountKind
from grokgate.upstream.xai.client import XaiClient

KEY = "xai-client-test-key-0123456789abcdef"
ACCOUNT = Account(id="xai_test", token=SecretStr(KEY), kind=AccountKind.XAI_API_KEY)


class Broken(httpx.AsyncByteStream):
    """A body that breaks after its first bytes."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"error": {"mess'
        raise httpx.ReadError("connection reset")


def client(status: int) -> XaiClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"retry-after": "7"}, stream=Broken())

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return XaiClient(base_url="https://api.x.invalid", http=http)


async def test_an_error_answer_whose_body_breaks_is_still_classified_by_status() -> None:
    with pytest.raises(UpstreamError) as info:
        await client(429).call(ACCOUNT, "/v1/chat/completions", {"model": "grok-4"})
    assert info.value.verdict is Verdict.RATE_LIMITED and info.value.retry_after == 7.0
    assert KEY not in info.value.message


async def test_a_200_answer_whose_body_breaks_is_a_stream_error() -> None:
    with pytest.raises(UpstreamStreamError):
        await client(200).call(ACCOUNT, "/v1/chat/completions", {"model": "grok-4"})
