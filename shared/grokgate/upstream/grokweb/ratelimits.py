"""``POST /rest/rate-limits`` (docs/grok-protocol.md §8.1): one mode's quota as grok.com reports it.

The answer is flat, ``{"windowSizeSeconds":7200,"remainingQueries":50,"totalQueries":50,...}``.
Older answers carried ``remainingTokens``/``totalTokens`` instead; both are read, the query
fields first. A missing ``remainingQueries`` means grok.com gave no data for the mode, and a
missing window means 7200 s (GO3's default). An exhausted mode also carries ``waitTimeSeconds``,
the authoritative time until its window reopens (same section; often about 3.5 h of a
24 h window).
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_WINDOW_SECONDS = 7200.0
RATE_LIMITS_TIMEOUT = 15.0  # seconds for the whole call: a quota read must never hang a task
RATE_LIMITS_BODY_LIMIT = 64 * 1024  # bytes of answer read at most

_FALLBACKS = (("remainingQueries", "remainingTokens"), ("totalQueries", "totalTokens"))


class RateLimits(BaseModel):
    """One mode's window: what remains, out of what, counted over ``window_size_seconds``.

    Fields are named in snake case and read from grok.com's camel-case keys (either form is
    accepted). Negative counts are read as 0; a missing, null or non-positive window as 7200 s.
    ``wait_time_seconds`` (``waitTimeSeconds``) is None when missing or unusable (not a finite
    number of at least 0 seconds): it never makes the rest of the answer unusable.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    window_size_seconds: float = Field(DEFAULT_WINDOW_SECONDS, alias="windowSizeSeconds")
    remaining_queries: int | None = Field(None, alias="remainingQueries")
    total_queries: int | None = Field(None, alias="totalQueries")
    wait_time_seconds: float | None = Field(None, alias="waitTimeSeconds")

    @model_validator(mode="before")
    @classmethod
    def _older_token_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field, older in _FALLBACKS:
            if data.get(field) is None and data.get(older) is not None:
                data[field] = data[older]
        return data

    @field_validator("window_size_seconds", mode="before")
    @classmethod
    def _window_missing(cls, value: Any) -> Any:
        return DEFAULT_WINDOW_SECONDS if value is None else value

    @field_validator("window_size_seconds", mode="after")
    @classmethod
    def _window_usable(cls, value: float) -> float:
        return value if math.isfinite(value) and value > 0 else DEFAULT_WINDOW_SECONDS

    @field_validator("wait_time_seconds", mode="before")
    @classmethod
    def _wait_usable(cls, value: Any) -> float | None:
        if value is None or isinstance(value, bool):
            return None
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            return None
        return seconds if math.isfinite(seconds) and seconds >= 0 else None

    @field_validator("remaining_queries", "total_queries", mode="after")
    @classmethod
    def _not_negative(cls, value: int | None) -> int | None:
        return None if value is None else max(0, value)

    @property
    def has_data(self) -> bool:
        """Whether grok.com said how many queries remain (PY2: no ``remainingQueries``, no data)."""
        return self.remaining_queries is not None


def rate_limits_body(mode: str) -> dict[str, str]:
    """The request body: one call per mode (``auto``, ``fast``, ``expert``, ``heavy``, ...)."""
    return {"modelName": mode}


def parse_rate_limits(raw: bytes | str) -> RateLimits:
    """The answer's model; raises ``ValueError`` if it is not a JSON object of that shape."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError("the rate-limit answer is not JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("the rate-limit answer is not a JSON object")
    try:
        return RateLimits.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e.get("loc")) or "?"
        raise ValueError(f"the rate-limit answer has unusable fields ({fields})") from exc
