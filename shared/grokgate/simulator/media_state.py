"""Media state of the simulator (``SimState.media``): imagine quotas, media faults, generated
assets, media posts and a log of media requests. Thread-safe (its own lock).

Imagine quotas (``POST /rest/media/imagine/quota_info``, docs/grok-protocol.md §8.2), per tier and
per 86400 s window; ``None`` means "not counted" (the key answers ``null`` and never runs out):

==========  =====  ========  =========  =====  =========
tier        image  imagePro  imageEdit  video  video720p
==========  =====  ========  =========  =====  =========
basic          20      None         10   None          5
super         100        50         50     50         20
heavy         400       200        200    200        100
==========  =====  ========  =========  =====  =========

A completed unmoderated imagine image spends ``image`` (``imagePro`` with ``enable_pro``); an
edit spends ``imageEdit``; a video spends ``video`` and, at 720p, ``video720p`` as well. As for
chat quotas, a window starts with the first spend and refills the kind when it ends.

Media faults (queued per account, separate from the chat faults of ``SimState.inject``; a
request takes the first queued fault that applies to its kind, see :data:`FAULT_KINDS`):

* ``ws_401`` / ``ws_429``: the next imagine WS handshake is refused (401 / 429 with
  ``Retry-After: retry_after``, default 60).
* ``ws_error``: the next imagine round answers ``{"type":"error","err_code":"internal",...}``.
* ``moderate``: every slot of the next imagine round, or the next edit / video / lite image,
  is moderated. ``moderate_some``: only the first slot (imagine round or lite request).
* ``edit_no_image``: the next edit answers text only ("I couldn't edit that image.").
* ``video_moderated``: the next video is moderated. ``video_lighthouse``: the next video's
  final frame names the unrelated ``lighthouse-demo`` video (different bytes).

Knobs: ``images_per_round`` (None = 6, or 4 with ``enable_pro``), ``video_step_delay`` seconds
between video progress frames (default 0), ``public_urls`` (imagine images get
``https://imagine-public.x.ai/imagine-public/images/<id>.jpg`` URLs; default False).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import SimState

__all__ = [
    "FAULT_KINDS",
    "IMAGINE_QUOTAS",
    "MEDIA_FAULTS",
    "MEDIA_WINDOW_S",
    "QUOTA_KINDS",
    "MediaFault",
    "MediaRecord",
    "SimAsset",
    "SimMedia",
    "SimPost",
]

MEDIA_WINDOW_S = 86400
QUOTA_KINDS: tuple[str, ...] = ("image", "imagePro", "imageEdit", "video", "video720p")
IMAGINE_QUOTAS: dict[str, dict[str, int | None]] = {
    "basic": {"image": 20, "imagePro": None, "imageEdit": 10, "video": None, "video720p": 5},
    "super": {"image": 100, "imagePro": 50, "imageEdit": 50, "video": 50, "video720p": 20},
    "heavy": {"image": 400, "imagePro": 200, "imageEdit": 200, "video": 200, "video720p": 100},
}
# fault name -> the request kinds that take it
FAULT_KINDS: dict[str, frozenset[str]] = {
    "ws_401": frozenset({"ws_connect"}),
    "ws_429": frozenset({"ws_connect"}),
    "ws_error": frozenset({"ws_round"}),
    "moderate": frozenset({"ws_round", "edit", "video", "lite"}),
    "moderate_some": frozenset({"ws_round", "lite"}),
    "edit_no_image": frozenset({"edit"}),
    "video_moderated": frozenset({"video"}),
    "video_lighthouse": frozenset({"video"}),
}
MEDIA_FAULTS: tuple[str, ...] = tuple(FAULT_KINDS)


@dataclass(frozen=True)
class MediaFault:
    name: str
    retry_after: int | None = None


@dataclass
class _Queued:
    fault: MediaFault
    left: int  # -1 = sticky


@dataclass(frozen=True)
class SimAsset:
    """Bytes served at ``GET /assets/<path>`` to the account ``token`` only."""

    path: str
    data: bytes = field(repr=False)
    mime: str
    token: str


@dataclass(frozen=True)
class SimPost:
    id: str
    token: str
    media_type: str
    media_url: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class MediaRecord:
    """One media request: kind is ws_connect, ws_round, lite, edit, video, post, quota_info,
    asset or public_asset; ``detail`` holds what the simulator parsed from it."""

    kind: str
    token: str | None
    detail: dict[str, Any]
    time: float


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class SimMedia:
    """Media state of one :class:`~.state.SimState` (accounts and clock come from it)."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self.images_per_round: int | None = None
        self.video_step_delay = 0.0
        self.public_urls = False
        self._faults: dict[str, list[_Queued]] = {}
        self._assets: dict[str, SimAsset] = {}
        self._public: dict[str, str] = {}  # public file name -> asset path
        self._images: dict[str, str] = {}  # generated image id -> asset path
        self._videos: dict[str, str] = {}  # video id -> mp4 asset path
        self._posts: dict[str, SimPost] = {}
        self._quota: dict[str, dict[str, list[float]]] = {}  # token -> kind -> [left, reset_at]
        self._log: list[MediaRecord] = []
        self._counter = 0

    # faults -------------------------------------------------------------------------------
    def inject(
        self, token: str, fault: str, times: int = 1, *, retry_after: int | None = None
    ) -> None:
        """Queue media ``fault`` for ``token``'s next ``times`` matching requests (-1 sticky)."""
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown media fault {fault!r}; expected one of {MEDIA_FAULTS}")
        if times == 0 or times < -1:
            raise ValueError("times must be positive or -1 (sticky)")
        if token not in self._state.accounts:
            raise KeyError(f"unknown account token {token[:4]}…")
        with self._lock:
            queued = _Queued(MediaFault(fault, retry_after), times)
            self._faults.setdefault(token, []).append(queued)

    def clear_faults(self, token: str | None = None) -> None:
        with self._lock:
            if token is None:
                self._faults.clear()
            else:
                self._faults.pop(token, None)

    def take(self, token: str, kind: str) -> MediaFault | None:
        """Pop (peek when sticky) the first queued fault of ``token`` that applies to ``kind``."""
        with self._lock:
            queue = self._faults.get(token, [])
            for i, queued in enumerate(queue):
                if kind not in FAULT_KINDS[queued.fault.name]:
                    continue
                if queued.left != -1:
                    queued.left -= 1
                    if queued.left <= 0:
                        queue.pop(i)
                return queued.fault
            return None

    # ids, assets, posts -------------------------------------------------------------------
    def new_id(self, *parts: str) -> str:
        """A fresh id, deterministic for the same sequence of calls since the last reset."""
        with self._lock:
            self._counter += 1
            seed = "\x00".join((str(self._counter), *parts))
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"grok-sim-media:{seed}"))

    def add_asset(self, token: str, path: str, data: bytes, mime: str) -> SimAsset:
        asset = SimAsset(path, data, mime, token)
        with self._lock:
            self._assets[path] = asset
        return asset

    def add_image(self, token: str, image_id: str, path: str, data: bytes) -> SimAsset:
        asset = self.add_asset(token, path, data, "image/jpeg")
        with self._lock:
            self._images[image_id] = path
            if self.public_urls:
                self._public[f"{image_id}.jpg"] = path
        return asset

    def add_video(self, token: str, video_id: str, path: str, data: bytes) -> SimAsset:
        asset = self.add_asset(token, path, data, "video/mp4")
        with self._lock:
            self._videos[video_id] = path
        return asset

    def asset(self, path: str) -> SimAsset | None:
        """The generated asset at ``path``, or an upload at ``users/<uid>/<fileId>/content``."""
        with self._lock:
            found = self._assets.get(path)
        if found is not None:
            return found
        parts = path.split("/")
        if len(parts) == 4 and parts[0] == "users" and parts[3] == "content":
            upload = self._state.uploads.get(parts[2])
            account = self._state.accounts.get(upload.token) if upload is not None else None
            if upload is not None and account is not None and account.user_id == parts[1]:
                return SimAsset(path, upload.data, upload.mime, upload.token)
        return None

    def public(self, name: str) -> SimAsset | None:
        with self._lock:
            path = self._public.get(name)
            return self._assets.get(path) if path is not None else None

    @property
    def assets(self) -> dict[str, SimAsset]:
        with self._lock:
            return dict(self._assets)

    @property
    def images(self) -> dict[str, str]:
        """Generated (unmoderated) image id -> asset path."""
        with self._lock:
            return dict(self._images)

    @property
    def videos(self) -> dict[str, str]:
        """Generated video id -> mp4 asset path (the lighthouse video is not listed)."""
        with self._lock:
            return dict(self._videos)

    def add_post(
        self, token: str, media_type: str, media_url: str | None = None, prompt: str | None = None
    ) -> SimPost:
        post = SimPost(self.new_id(token, "post"), token, media_type, media_url, prompt)
        with self._lock:
            self._posts[post.id] = post
        return post

    def post(self, post_id: str) -> SimPost | None:
        with self._lock:
            return self._posts.get(post_id)

    # request log --------------------------------------------------------------------------
    def record(self, kind: str, token: str | None, **detail: Any) -> None:
        with self._lock:
            self._log.append(MediaRecord(kind, token, detail, self._state.clock()))

    def requests(self, kind: str | None = None, token: str | None = None) -> list[MediaRecord]:
        with self._lock:
            return [
                r
                for r in self._log
                if (kind is None or r.kind == kind) and (token is None or r.token == token)
            ]

    # quota --------------------------------------------------------------------------------
    def _entry(self, token: str, kind: str, now: float) -> list[float] | None:
        """[remaining, reset_at] of a counted kind (refreshed), None when not counted."""
        total = IMAGINE_QUOTAS[self._state.accounts[token].tier][kind]
        if total is None:
            return None
        entry = self._quota.setdefault(token, {}).setdefault(kind, [float(total), 0.0])
        if entry[1] and now >= entry[1]:
            entry[0], entry[1] = float(total), 0.0
        return entry

    def _wait(self, entry: list[float], now: float) -> int:
        if not entry[1]:
            entry[1] = now + MEDIA_WINDOW_S
        return max(1, math.ceil(entry[1] - now))

    def remaining(self, token: str, kind: str) -> int | None:
        """Remaining queries of ``kind``, None when the tier does not count it."""
        with self._lock:
            entry = self._entry(token, kind, self._state.clock())
            return None if entry is None else int(entry[0])

    def set_remaining(self, token: str, kind: str, remaining: int) -> None:
        """Test helper: force the remaining count of a counted kind."""
        with self._lock:
            entry = self._entry(token, kind, self._state.clock())
            if entry is None:
                raise ValueError(f"{kind} is not counted for this tier")
            entry[0] = float(remaining)

    def retry_after(self, token: str, kind: str) -> int | None:
        """Seconds until ``kind`` is available again, None when it is available now."""
        now = self._state.clock()
        with self._lock:
            entry = self._entry(token, kind, now)
            return None if entry is None or entry[0] > 0 else self._wait(entry, now)

    def spend(self, token: str, kinds: Sequence[str]) -> int | None:
        """Spend one query of every counted kind; None on success, else the Retry-After."""
        now = self._state.clock()
        with self._lock:
            entries = [e for e in (self._entry(token, k, now) for k in kinds) if e is not None]
            empty = [e for e in entries if e[0] <= 0]
            if empty:
                return max(self._wait(e, now) for e in empty)
            for entry in entries:
                if not entry[1]:
                    entry[1] = now + MEDIA_WINDOW_S
                entry[0] -= 1
            return None

    def quota_info(self, token: str) -> dict[str, dict[str, Any] | None]:
        now = self._state.clock()
        info: dict[str, dict[str, Any] | None] = {}
        with self._lock:
            for kind in QUOTA_KINDS:
                entry = self._entry(token, kind, now)
                if entry is None:
                    info[kind] = None
                    continue
                item: dict[str, Any] = {
                    "available": entry[0] > 0,
                    "remainingQueries": int(entry[0]),
                    "windowSizeSeconds": MEDIA_WINDOW_S,
                }
                if entry[0] <= 0:
                    self._wait(entry, now)
                    item["nextAvailableAt"] = _rfc3339(entry[1])
                info[kind] = item
        return info

    # housekeeping -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget faults, assets, posts, quotas and the log; restore the knobs' defaults."""
        with self._lock:
            self.images_per_round = None
            self.video_step_delay = 0.0
            self.public_urls = False
            self._faults.clear()
            self._assets.clear()
            self._public.clear()
            self._images.clear()
            self._videos.clear()
            self._posts.clear()
            self._quota.clear()
            self._log.clear()
            self._counter = 0
