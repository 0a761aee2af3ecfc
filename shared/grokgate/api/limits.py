"""Request body limits (size, and time between chunks): pure-ASGI middlewares, so they see
every route's body.

A request whose ``Content-Length`` is over the limit is refused at once, before any of the body
is read. A body without one (chunked) is counted as it is received: the read that goes over
raises :class:`~grokgate.errors.RequestTooLargeError` and whatever the app answers to that
failed read (FastAPI turns a failed read into a 400) is replaced by the 413. Nothing is
buffered here; the app reads the body as it always does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grokgate.config import Settings
from grokgate.errors import GrokGateError, RequestTimeoutError, RequestTooLargeError

Renderer = Callable[[Request, GrokGateError], Response]

# The platforms' payload limits (README, "Limits to know"), in decimal MB as they state them.
# Buffered: one Lambda invocation carries at most 6 MB each way; API Gateway's own 10 MB is
# never the binding one. The chat function streams its answer through the Web Adapter (200 MB).
LAMBDA_PAYLOAD_BYTES = 6_000_000
LAMBDA_STREAMED_BYTES = 200_000_000
VERCEL_BODY_BYTES = 4_500_000


@dataclass(frozen=True)
class Limit:
    """A payload limit: its bytes, and the platform that sets it (None: grokgate's setting)."""

    max_bytes: int
    platform: str | None = None

    @property
    def stated(self) -> str:
        """The limit as its platform states it (``6 MB``), or in bytes (grokgate's setting)."""
        if self.platform is None:
            return f"{self.max_bytes} bytes"
        return f"{self.max_bytes / 1_000_000:g} MB"


def _platform(settings: Settings) -> tuple[str, int, int] | None:
    """Where this process runs: the platform's name, request and response limits."""
    if settings.vercel:
        return "Vercel", VERCEL_BODY_BYTES, VERCEL_BODY_BYTES
    if settings.aws_lambda:
        streamed = (settings.aws_lwa_invoke_mode or "").lower() == "response_stream"
        response = LAMBDA_STREAMED_BYTES if streamed else LAMBDA_PAYLOAD_BYTES
        return "AWS Lambda", LAMBDA_PAYLOAD_BYTES, response
    return None  # `grokgate serve`: only GROKGATE_MAX_BODY_BYTES


def request_limit(settings: Settings) -> Limit:
    """The effective request body limit: GROKGATE_MAX_BODY_BYTES, or the platform's if lower."""
    platform = _platform(settings)
    if platform is None or settings.max_body_bytes <= platform[1]:
        return Limit(settings.max_body_bytes)
    return Limit(platform[1], platform[0])


def response_limit(settings: Settings) -> Limit | None:
    """The largest answer the platform delivers (None: no limit, `grokgate serve`)."""
    platform = _platform(settings)
    return None if platform is None else Limit(platform[2], platform[0])


def too_large(max_bytes: int, platform: str | None = None) -> RequestTooLargeError:
    limit = Limit(max_bytes, platform)
    if platform is None:
        return RequestTooLargeError(
            f"The request body is too large: the maximum is {max_bytes} bytes."
        )
    return RequestTooLargeError(
        f"The request body is too large: {platform} accepts at most {limit.stated} per request "
        f"({max_bytes} bytes)."
    )


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (None when absent or not a number: the server decides)."""
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with a 413 that ``render`` formats for the path."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, render: Renderer, platform: str | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render
        self.platform = platform  # named in the 413 when its limit is the one that applies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        failure: GrokGateError | None = None

        async def counted() -> Message:
            nonlocal received, failure
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    failure = too_large(self.max_bytes, self.platform)
                    raise failure
            return message

        await replacing_failed_reads(
            self.app, scope, receive, send, counted, lambda: failure, self.render
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.render(Request(scope), too_large(self.max_bytes, self.platform))
        await response(scope, receive, send)


def stalled(seconds: float) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"The request body stopped arriving: nothing was received for {seconds:g} seconds."
    )


class BodyReadTimeout:
    """A 408 (and the connection closed) when the client goes silent for ``seconds`` before
    its body is complete. Like :class:`BodySizeLimit`, the failed read raises and the app's
    answer to it is replaced. Once the body is complete, reads pass through untimed (a
    streamed answer waits on ``receive`` for the disconnect)."""

    def __init__(self, app: ASGIApp, *, seconds: float, render: Renderer) -> None:
        self.app = app
        self.seconds = seconds
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        done = False
        failure: GrokGateError | None = None

        async def timed() -> Message:
            nonlocal done, failure
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                failure = stalled(self.seconds)
                raise failure from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        await replacing_failed_reads(
            self.app,
            scope,
            receive,
            send,
            timed,
            lambda: failure,
            self.render,
            close=True,  # the rest of the body is never read
        )


async def replacing_failed_reads(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    reading: Receive,
    failure: Callable[[], GrokGateError | None],
    render: Renderer,
    *,
    close: bool = False,
) -> None:
    """Run ``app`` reading its body through ``reading``. When a read fails (``failure()`` then
    names why) before the app began its answer, whatever the app answers to the failed read
    (FastAPI turns it into a 400) is dropped and ``failure()`` rendered in its place."""
    started = False

    async def guarded(message: Message) -> None:
        nonlocal started
        if failure() is not None and not started:
            return  # the app's answer to the failed read: ours replaces it
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, reading, guarded)
    except Exception:
        if failure() is None or started:
            raise
    error = failure()
    if error is not None and not started:
        response = render(Request(scope), error)
        if close:
            response.headers["Connection"] = "close"
        await response(scope, receive, send)
