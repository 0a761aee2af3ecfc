"""``POST /rest/media/imagine/quota_info`` (docs/grok-protocol.md §8.2).

The answer has five required keys, each ``null`` or a window::

    {"image": {"available": true, "remainingQueries": 12, "windowSizeSeconds": 86400,
               "nextAvailableAt": "2026-08-10T12:00:00Z"}, "imagePro": null, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

QUOTA_KEYS = ("image", "imagePro", "imageEdit", "video", "video720p")
DEFAULT_WINDOW = 86400.0


@dataclass(frozen=True, slots=True)
class ImagineWindow:
    """One Imagine quota group: whether it may be used now, what remains in which window, and
    (when exhausted) the epoch second it refills."""

    available: bool
    remaining: int
    window: float
    next_available_at: float | None = None


class _Window(BaseModel):
    model_config = ConfigDict(extra="ignore")
    available: bool
    remainingQueries: int = Field(ge=0)
    windowSizeSeconds: float = Field(default=DEFAULT_WINDOW, gt=0)
    nextAvailableAt: datetime | None = None


class _QuotaInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    image: _Window | None
    imagePro: _Window | None
    imageEdit: _Window | None
    video: _Window | None
    video720p: _Window | None


def _window(raw: _Window | None) -> ImagineWindow | None:
    if raw is None:
        return None
    when = raw.nextAvailableAt
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 3339 always has an offset; assume UTC if not
    return ImagineWindow(
        available=raw.available,
        remaining=raw.remainingQueries,
        window=raw.windowSizeSeconds,
        next_available_at=when.timestamp() if when is not None else None,
    )


def parse_imagine_quota(raw: bytes | str) -> dict[str, ImagineWindow | None]:
    """The five groups of a ``quota_info`` answer; :class:`ValueError` when a key is missing or
    the answer is not the expected JSON."""
    try:
        info = _QuotaInfo.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
        raise ValueError(problems or "not the expected JSON") from exc
    return {key: _window(getattr(info, key)) for key in QUOTA_KEYS}
