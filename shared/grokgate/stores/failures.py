"""The one client-facing error for a store that failed: generic (no file path, table or bucket
name, no exception text, which may hold them), with the detail in the log, redacted."""

from __future__ import annotations

from grokgate.errors import StoreUnavailableError
from grokgate.logs import get_logger, redact

__all__ = ["unavailable"]

log = get_logger("stores")


def unavailable(
    what: str, exc: BaseException | None = None, detail: str = ""
) -> StoreUnavailableError:
    """``what`` completes "could not ..." for API clients. ``detail`` (which table or file, and
    how it failed) goes to the log and to the error's ``detail``, which only the operator's CLI
    prints; both are redacted."""
    reason = f"{type(exc).__name__}: {exc}" if exc is not None else ""
    full = redact(" - ".join(part for part in (detail, reason) if part))
    log.error("store: could not %s: %s", what, full)
    error = StoreUnavailableError(
        f"the gateway's store is unavailable (could not {what}); try again later"
    )
    error.detail = redact(detail) or error.message
    return error
