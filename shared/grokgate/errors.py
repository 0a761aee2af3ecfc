"""The one error tree of grokgate.

Every failure that can reach a client is an instance of :class:`GrokGateError`. Each class
carries its HTTP status, its OpenAI error ``type`` and its Anthropic error ``type``; the API
surfaces render these into their own wire format (``grokgate.api.openai.errors``,
``grokgate.api.anthropic.errors``). Code below the
routers raises these and nothing else: upstream clients translate their libraries' exceptions
into this tree with ``raise ... from exc``.

Upstream failures that concern one account (401, 403, 429, 5xx, in-band errors) are subclasses
of :class:`UpstreamError` and carry an :attr:`UpstreamError.verdict` that the account pool uses
to decide what happens to the account and whether another account may be tried.
"""

from __future__ import annotations

from enum import StrEnum


class GrokGateError(Exception):
    status: int = 500
    openai_type: str = "server_error"
    anthropic_type: str = "api_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, int(self.retry_after + 0.999)))}


# --- client errors -------------------------------------------------------------------------


class InvalidRequestError(GrokGateError):
    status = 400
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "invalid_request"


class FetchRefusedError(InvalidRequestError):
    """A client-supplied URL that grokgate will not fetch (scheme, address, size, redirects)."""

    code = "url_refused"


class AuthenticationError(GrokGateError):
    status = 401
    openai_type = "invalid_request_error"
    anthropic_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDeniedError(GrokGateError):
    status = 403
    openai_type = "invalid_request_error"
    anthropic_type = "permission_error"
    code = "permission_denied"


class NotFoundError(GrokGateError):
    status = 404
    openai_type = "invalid_request_error"
    anthropic_type = "not_found_error"
    code = "not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"


class MethodNotAllowedError(GrokGateError):
    status = 405
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "method_not_allowed"


class ConflictError(GrokGateError):
    """The request conflicts with earlier state (an ``Idempotency-Key`` reused for another
    request)."""

    status = 409
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "conflict"


class RequestTooLargeError(GrokGateError):
    status = 413
    openai_type = "invalid_request_error"
    anthropic_type = "request_too_large"
    code = "request_too_large"


class RequestTimeoutError(GrokGateError):
    """The client stopped sending its request body (``GROKGATE_BODY_TIMEOUT``)."""

    status = 408
    openai_type = "invalid_request_error"
    anthropic_type = "timeout_error"
    code = "request_timeout"


class RateLimitError(GrokGateError):
    status = 429
    openai_type = "rate_limit_error"
    anthropic_type = "rate_limit_error"
    code = "rate_limit_exceeded"


# --- gateway-side failures -----------------------------------------------------------------


class NoAccountAvailableError(GrokGateError):
    """No account in the pool can serve the request right now."""

    status = 503
    openai_type = "server_error"
    anthropic_type = "overloaded_error"
    code = "no_account_available"


class ServerBusyError(GrokGateError):
    """Too many requests in flight on this instance (``GROKGATE_MAX_CONCURRENT_REQUESTS``)."""

    status = 503
    openai_type = "server_error"
    anthropic_type = "overloaded_error"
    code = "server_busy"


class StoreUnavailableError(GrokGateError):
    """The pool's store (SQLite file, DynamoDB table) could not be read or written."""

    status = 503
    openai_type = "server_error"
    anthropic_type = "api_error"
    code = "store_unavailable"
    default_retry_after = 2.0  # outages of a store are usually brief; clients back off a little
    detail = ""  # for the operator (CLI): which table or file, and how; never sent to clients

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            self.retry_after = self.default_retry_after
        return super().headers()


class DeadlineExceededError(GrokGateError):
    status = 504
    openai_type = "server_error"
    anthropic_type = "timeout_error"
    code = "upstream_timeout"


# --- upstream failures ---------------------------------------------------------------------


class Verdict(StrEnum):
    """What a failed upstream call says about the account that made it."""

    EXPIRED = "expired"  # credentials are dead: never pick the account again
    BLOCKED = "blocked"  # the account is banned: disable it
    RATE_LIMITED = "rate_limited"  # quota or load: cool the account down
    CHALLENGED = "challenged"  # Cloudflare / anti-bot: not the account's fault
    UNAVAILABLE = "unavailable"  # upstream outage or unusable answer: try elsewhere
    MODE_UNAVAILABLE = "mode_unavailable"  # the account's tier cannot use the mode
    REJECTED = "rejected"  # grok.com refused what the client sent (e.g. a file): not the account
    EGRESS = "egress"  # the account's proxy failed (refused, 407, tunnel, timeout): not the account


class UpstreamError(GrokGateError):
    """The upstream failed. ``verdict`` tells the pool what to do with the account."""

    status = 502
    openai_type = "server_error"
    anthropic_type = "api_error"
    code = "upstream_error"
    verdict: Verdict = Verdict.UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        verdict: Verdict | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message, retry_after=retry_after, code=code)
        self.upstream_status = upstream_status
        if verdict is not None:
            self.verdict = verdict
        #: whether another account may succeed where this one failed
        self.retryable = retryable


class UpstreamTimeoutError(UpstreamError):
    status = 504
    anthropic_type = "timeout_error"
    code = "upstream_timeout"


class UpstreamRateLimitError(UpstreamError):
    """Every account that was tried is rate limited; the client should come back later."""

    status = 429
    openai_type = "rate_limit_error"
    anthropic_type = "rate_limit_error"
    code = "upstream_rate_limited"
    verdict = Verdict.RATE_LIMITED


_ANTHROPIC_CLIENT_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
}


class UpstreamRejectedError(UpstreamError):
    """The upstream refused the client's input (an uploaded file, a parameter); another account
    would too. ``status`` passes on the upstream's own 4xx status (the xAI API's 400, 404,
    413, 422), so the client sees what the upstream said."""

    status = 400
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "upstream_rejected"
    verdict = Verdict.REJECTED

    def __init__(self, message: str, *, status: int | None = None, **kwargs: object) -> None:
        kwargs.setdefault("retryable", False)
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        if status is not None:
            self.status = status
            self.anthropic_type = _ANTHROPIC_CLIENT_TYPES.get(status, "invalid_request_error")


class ContentModeratedError(UpstreamRejectedError):
    """grok.com's moderation withheld every result (image slots, a video)."""

    code = "content_policy_violation"


class TransportError(UpstreamError):
    """grok.com could not be reached, or the connection broke: no answer of grok.com's (the
    browser transport maps its library's errors here, at its boundary)."""

    code = "upstream_unreachable"


class TransportTimeoutError(TransportError, UpstreamTimeoutError):
    """The connection or a read took longer than the transport's limit."""

    code = "upstream_timeout"


class EgressError(TransportError):
    """The account's egress proxy failed: refused, 407, a tunnel error or a timeout at the
    proxy. ``egress`` names the proxy by host and port only (never its credentials). The
    account is not to blame: the request may be retried on another account."""

    code = "upstream_egress_failed"
    verdict = Verdict.EGRESS

    def __init__(self, message: str, *, egress: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.egress = egress


class UpstreamStreamError(UpstreamError):
    """The upstream stream broke or reported an error in band."""

    code = "upstream_stream_error"


class UpstreamHandshakeError(UpstreamError):
    """The upstream's WebSocket could not be opened: the handshake was refused (an HTTP answer
    instead of the upgrade), timed out, was invalid, or nobody answered. Nothing was sent yet,
    so a caller may fall back to another transport. ``verdict``, ``retry_after``,
    ``upstream_status`` and ``retryable`` are those of the underlying failure (a refusal keeps
    what its HTTP status and body mean: 401 → EXPIRED, 429 → RATE_LIMITED, ...)."""

    @classmethod
    def from_error(cls, err: UpstreamError) -> UpstreamHandshakeError:
        """The handshake error for ``err`` (the classified refusal): the client sees exactly
        what ``err`` would show (message, status, types, code), the pool reads its verdict."""
        out = cls(
            err.message,
            upstream_status=err.upstream_status,
            verdict=err.verdict,
            retry_after=err.retry_after,
            code=err.code,
            retryable=err.retryable,
        )
        out.status, out.openai_type, out.anthropic_type = (
            err.status,
            err.openai_type,
            err.anthropic_type,
        )
        return out
