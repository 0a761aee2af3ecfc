"""What grok.com's media flows produce (docs/grok-protocol.md §6, §7), before grokgate stores it.

The upstream media client returns these; the core media services turn them into stored files
and URLs. URLs here are absolute and already mapped to the configured asset host.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One finished, unmoderated picture.

    ``data`` is set when grok.com sent the bytes inline (the imagine WebSocket's final ``blob``);
    otherwise ``url`` must be downloaded (through the owning account for asset hosts).
    ``public`` means ``url`` opens without cookies (``imagine-public.x.ai``, ``imgen.x.ai``).
    """

    url: str | None
    data: bytes | None = None
    mime: str = "image/jpeg"
    width: int | None = None
    height: int | None = None
    image_id: str | None = None
    public: bool = False

    def __repr__(self) -> str:  # never dump the bytes into logs
        size = len(self.data) if self.data is not None else None
        return f"GeneratedImage(url={self.url!r}, id={self.image_id!r}, bytes={size})"


@dataclass(frozen=True, slots=True)
class VideoProgress:
    """A progress frame of a video generation (0..100)."""

    percent: int
    video_id: str | None = None


@dataclass(frozen=True, slots=True)
class GeneratedVideo:
    """The finished video: ``url`` (asset host, needs the account's cookies) and what identifies
    it. ``video_id`` is the id the stream announced; the client checks the final URL belongs to
    it (the "lighthouse demo" trap, docs/grok-protocol.md §7.3)."""

    url: str
    video_id: str
    post_id: str | None = None
    thumbnail_url: str | None = None


@dataclass(frozen=True, slots=True)
class Downloaded:
    """Bytes fetched from a media URL, with the type the server declared (checked)."""

    data: bytes
    mime: str

    def __repr__(self) -> str:
        return f"Downloaded(mime={self.mime!r}, size={len(self.data)})"


@dataclass(frozen=True, slots=True)
class VideoParams:
    """One video generation as grok.com takes it (docs/grok-protocol.md §7)."""

    prompt: str
    seconds: int = 6
    aspect_ratio: str = "16:9"
    resolution: str = "720p"
    preset: str = "custom"  # fun | normal | spicy | custom → the ``--mode=`` flag
