"""The xAI API over HTTP/2: requests forwarded as they are, streams relayed event by event.

The client never re-buffers a stream: each server-sent event is handed on as soon as it is
parsed (``httpx-sse`` reads line by line). It holds only process-wide state (the shared HTTP/2
client); every call names the account (API key) that pays for it.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

import httpx
from httpx_sse import EventSource, SSEError

from grokgate.errors import UpstreamError, UpstreamStreamError, UpstreamTimeoutError
from grokgate.events import Served
from grokgate.logs import register_secret
from grokgate.stores.records import Account
from grokgate.upstream.http import body_of, read_body, read_capped, until
from grokgate.upstream.xai.errors import classify_xai

MAX_BODY_BYTES = 64 * 1024 * 1024  # a non-streamed answer (images as base64 included)
ERROR_BODY_BYTES = 64 * 1024
_SILENT = "the xAI API went silent in the middle of the answer"
# Request headers of the client that the xAI API understands and that are not credentials.
PASSED_HEADERS = ("anthropic-version", "anthropic-beta")


@dataclass(frozen=True, slots=True)
class XaiEvent:
    """One server-sent event of the upstream, relayed as it is."""

    data: str
    event: str | None = None  # None: an unnamed event (OpenAI chat chunks)


class XaiClient:
    transport = "xai"

    def __init__(self, *, base_url: str, http: httpx.AsyncClient, deadline: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.deadline = deadline

    def _request(
        self, account: Account, path: str, body: Mapping[str, Any], extra: Mapping[str, str]
    ) -> httpx.Request:
        key = account.token.get_secret_value()
        register_secret(key)
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if body.get("stream") else "application/json",
        }
        if path.startswith("/v1/messages"):
            headers["x-api-key"] = key
            headers["anthropic-version"] = "2023-06-01"
        for name in PASSED_HEADERS:
            if name in extra:
                headers[name] = extra[name]
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return self.http.build_request(
            "POST", self.base_url + path, content=content, headers=headers
        )

    def _deadline_at(self) -> float:
        return asyncio.get_running_loop().time() + self.deadline

    def _too_long(self) -> UpstreamTimeoutError:
        return UpstreamTimeoutError(f"the xAI API's answer took longer than {self.deadline:g} s")

    async def _send(self, request: httpx.Request, deadline_at: float) -> httpx.Response:
        try:
            async with asyncio.timeout_at(deadline_at):  # the answer's first byte included
                response = await self.http.send(request, stream=True)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeoutError("the xAI API did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"could not reach the xAI API ({type(exc).__name__})") from exc
        if response.status_code >= 300:
            try:
                body = (await read_capped(response, ERROR_BODY_BYTES))[:ERROR_BODY_BYTES]
            except httpx.HTTPError:  # the status says enough; the details were lost
                body = b""
            finally:
                await response.aclose()
            raise classify_xai(response.status_code, response.headers, body)
        return response

    async def call(
        self,
        account: Account,
        path: str,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> tuple[bytes, str]:
        """POST a non-streamed request; the answer's bytes and content type, unchanged."""
        deadline_at = self._deadline_at()
        response = await self._send(self._request(account, path, body, extra or {}), deadline_at)
        try:
            async with asyncio.timeout_at(deadline_at):
                data = await read_body(
                    response, MAX_BODY_BYTES, too_large="the xAI API's answer is too large"
                )
        except TimeoutError as exc:
            raise self._too_long() from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError(_SILENT) from exc
        except httpx.HTTPError as exc:
            raise UpstreamStreamError(f"the xAI API's answer broke ({type(exc).__name__})") from exc
        finally:
            await response.aclose()
        ctype = response.headers.get("content-type", "application/json")
        return data, ctype

    async def stream(
        self,
        account: Account,
        path: str,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Served | XaiEvent]:
        """POST a streamed request: :class:`Served` once the xAI API answered 200, then every
        server-sent event as it arrives. Raises :class:`UpstreamError` for every failure."""
        deadline_at = self._deadline_at()
        response = await self._send(self._request(account, path, body, extra or {}), deadline_at)
        try:
            yield Served(account=account.id, transport=self.transport)
            events = until(deadline_at, EventSource(_Decoded.of(response)).aiter_sse())
            async with aclosing(events):  # type: ignore[type-var]
                async for sse in events:
                    name = sse.event if sse.event and sse.event != "message" else None
                    yield XaiEvent(sse.data, name)
        except TimeoutError as exc:
            raise self._too_long() from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError(_SILENT) from exc
        except (httpx.HTTPError, SSEError) as exc:
            raise UpstreamStreamError(f"the xAI API's stream broke ({type(exc).__name__})") from exc
        finally:
            await response.aclose()


class _Decoded:
    """The answer as :class:`EventSource` reads it, its body decoded only as far as it is read
    (:func:`body_of`: httpx's own decoding would inflate a compressed chunk in full)."""

    def __init__(self, response: httpx.Response) -> None:
        self.headers = response.headers
        self._response = response

    @classmethod
    def of(cls, response: httpx.Response) -> httpx.Response:
        return cast(httpx.Response, cls(response))

    async def aiter_text(self) -> AsyncIterator[str]:
        text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        async with aclosing(body_of(self._response)) as pieces:  # type: ignore[type-var]
            async for piece in pieces:
                if out := text.decode(piece):
                    yield out
        if tail := text.decode(b"", final=True):
            yield tail
