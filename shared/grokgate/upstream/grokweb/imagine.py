"""Text to image over grok.com's imagine WebSocket (docs/grok-protocol.md §6.1).

:class:`ImagineRound` is the pure part: it takes the server's frames of one round and knows when
the round is over (every started slot completed) and which finished, unmoderated pictures it
produced. :func:`imagine_rounds` drives rounds over an open socket until ``n`` pictures are
collected, a round produced nothing new, or the round limit is reached. A round whose slots all
completed but that started fewer slots than asked for ends after a short quiet period (the
server caps a round's slots and may send them one after the other). :func:`imagine_over_ws`
opens the socket and maps its failures onto the error tree.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from grokgate.errors import (
    ContentModeratedError,
    TransportError,
    TransportTimeoutError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
    Verdict,
)
from grokgate.logs import clip, get_logger
from grokgate.upstream.browser.api import HandshakeRefused, Socket, SocketClosed
from grokgate.upstream.grokweb.assets import AssetHosts
from grokgate.upstream.grokweb.classify import classify_inband, refusal_error
from grokgate.upstream.grokweb.media_request import imagine_request, imagine_reset
from grokgate.upstream.grokweb.media_types import GeneratedImage

log = get_logger("grokweb.imagine")
MAX_ROUNDS = 5
ROUND_GRACE = 2.0  # seconds of silence that end a round with fewer slots than asked for
_IMAGE_ID = re.compile(r"/(?:images|generated)/([A-Za-z0-9_-]+)(?:\.(?:png|jpe?g|webp)|/)")
_RATE_CODES = ("rate", "limit", "quota", "too_many", "too many", "exhausted", "429")


class ImagineFrame(BaseModel):
    """One server frame of the imagine socket (every field optional; unknown ones ignored)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    type: str | None = None
    current_status: str | None = None
    image_id: str | None = None
    job_id: str | None = None
    id: str | None = None
    order: int | None = None
    side_by_side_index: int | None = None
    grid_index: int | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = None
    blob: str | None = None
    percentage_complete: float | None = None
    moderated: bool | None = None


@dataclass(slots=True)
class _Slot:
    image_id: str | None = None
    width: int | None = None
    height: int | None = None
    final: ImagineFrame | None = None
    completed: bool = False
    moderated: bool = False


def imagine_error(frame: dict[str, Any]) -> UpstreamError:
    """The error for an ``{"type":"error","err_code":..,"err_msg":..}`` frame."""
    code = clip(str(frame.get("err_code") or ""), 80)
    message = clip(str(frame.get("err_msg") or ""), 300)
    text = f"{code}: {message}" if code and message else code or message or "unknown error"
    verdict = classify_inband({"message": text}, nested=False).verdict
    low = text.lower()
    if verdict is Verdict.UNAVAILABLE and any(m in low for m in _RATE_CODES):
        verdict = Verdict.RATE_LIMITED
    elif verdict is Verdict.UNAVAILABLE and "anti_bot" in low:
        verdict = Verdict.CHALLENGED
    return UpstreamError(f"grok.com's imagine socket reported an error: {text}", verdict=verdict)


def _decode_blob(blob: str | None) -> bytes | None:
    if not blob:
        return None
    if blob.startswith("data:") and "," in blob:
        blob = blob.split(",", 1)[1]
    try:
        data = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None
    return data or None


def sniff_image_mime(data: bytes | None, url: str | None) -> str:
    if data:
        if data.startswith(b"\x89PNG"):
            return "image/png"
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return "image/webp"
        if data.startswith(b"\xff\xd8"):
            return "image/jpeg"
    path = (url or "").split("?", 1)[0].lower()
    if path.endswith(".png"):
        return "image/png"
    if path.endswith(".webp"):
        return "image/webp"
    return "image/jpeg"


def image_id_from_url(url: str | None) -> str | None:
    match = _IMAGE_ID.search(url or "")
    return match.group(1) if match else None


class ImagineRound:
    """The frames of one round → its slots. :meth:`feed` raises only :class:`UpstreamError`."""

    def __init__(self) -> None:
        self.slots: dict[str, _Slot] = {}
        self._by_id: dict[str, str] = {}
        self.ignored = 0

    @property
    def done(self) -> bool:
        return bool(self.slots) and all(s.completed for s in self.slots.values())

    @property
    def moderated(self) -> int:
        return sum(1 for s in self.slots.values() if s.completed and s.moderated)

    def feed_text(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            message = message.decode("utf-8", errors="replace")
        try:
            raw = json.loads(message)
        except ValueError:
            self.ignored += 1
            return
        self.feed(raw)

    def feed(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.ignored += 1
            return
        if raw.get("type") == "error":
            raise imagine_error(raw)
        try:
            frame = ImagineFrame.model_validate(raw)
        except ValidationError:
            self.ignored += 1
            return
        if frame.type == "image":
            self._image(frame)
        elif frame.type == "json" and frame.current_status in ("start_stage", "completed"):
            slot = self._slot(frame, frame.image_id or frame.job_id or frame.id)
            if slot is None:
                self.ignored += 1
                return
            slot.image_id = slot.image_id or frame.image_id or frame.job_id
            slot.width = frame.width or slot.width
            slot.height = frame.height or slot.height
            if frame.current_status == "completed":
                slot.completed = True
                slot.moderated = bool(frame.moderated)

    def _image(self, frame: ImagineFrame) -> None:
        slot = self._slot(frame, frame.id or image_id_from_url(frame.url))
        if slot is None:
            self.ignored += 1
            return
        slot.width = frame.width or slot.width
        slot.height = frame.height or slot.height
        if (frame.percentage_complete or 0) >= 100:
            slot.final = frame
            slot.image_id = slot.image_id or frame.id

    def _slot(self, frame: ImagineFrame, ident: str | None) -> _Slot | None:
        index = next(
            (i for i in (frame.order, frame.side_by_side_index, frame.grid_index) if i is not None),
            None,
        )
        if index is not None:
            key = f"#{index}"
        elif ident is not None:
            key = self._by_id.get(ident, f"id:{ident}")
        else:
            return None
        if ident is not None:
            self._by_id.setdefault(ident, key)
        return self.slots.setdefault(key, _Slot())

    def images(self, hosts: AssetHosts) -> list[GeneratedImage]:
        """The finished, unmoderated pictures of the completed slots, in slot order."""
        out: list[GeneratedImage] = []
        for _, slot in sorted(self.slots.items(), key=lambda kv: _order_key(kv[0])):
            if not slot.completed or slot.moderated or slot.final is None:
                continue
            final = slot.final
            data = _decode_blob(final.blob)
            url: str | None = None
            public = False
            if final.url:
                try:
                    url, public = hosts.map(final.url)
                except UpstreamError:
                    url = None
            if data is None and url is None:
                continue
            out.append(
                GeneratedImage(
                    url=url,
                    data=data,
                    mime=sniff_image_mime(data, final.url),
                    width=final.width or slot.width,
                    height=final.height or slot.height,
                    image_id=final.id or slot.image_id or image_id_from_url(final.url),
                    public=public,
                )
            )
        return out


def _order_key(key: str) -> tuple[int, int | str]:
    if key.startswith("#"):
        try:
            return (0, int(key[1:]))
        except ValueError:
            pass
    return (1, key)


class ImagineSocket(Protocol):
    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...


@dataclass(slots=True)
class ImagineOutcome:
    """What the rounds collected so far (kept when the deadline or a closed socket cuts in)."""

    images: list[GeneratedImage] = field(default_factory=list)
    moderated: int = 0
    rounds: int = 0


def _identity(image: GeneratedImage) -> str:
    if image.image_id:
        return "id:" + image.image_id
    if image.url:
        return "url:" + image.url
    return "data:" + str(hash(image.data))


async def imagine_rounds(
    ws: ImagineSocket,
    prompt: str,
    *,
    n: int,
    aspect_ratio: str,
    pro: bool,
    hosts: AssetHosts,
    outcome: ImagineOutcome,
    max_rounds: int = MAX_ROUNDS,
    grace: float = ROUND_GRACE,
) -> None:
    """Run rounds (reset + request for the pictures still needed) until ``n`` are collected,
    a round brought nothing new, or ``max_rounds`` rounds ran. Results go into ``outcome``.

    A round is over when every started slot has completed and either as many slots as asked
    for started, or no further frame came for ``grace`` seconds (PY2 waits 2 s likewise)."""
    seen = {_identity(image) for image in outcome.images}
    while len(outcome.images) < n and outcome.rounds < max_rounds:
        outcome.rounds += 1
        wanted = n - len(outcome.images)
        await ws.send(imagine_reset())
        await ws.send(
            imagine_request(prompt, num_generations=wanted, aspect_ratio=aspect_ratio, pro=pro)
        )
        current = ImagineRound()
        while True:
            if current.done and len(current.slots) >= wanted:
                break
            if current.done:
                # Fewer slots than asked so far: the server may cap a round, or send its slots
                # one after the other. A quiet socket for ``grace`` seconds ends the round.
                try:
                    message = await asyncio.wait_for(ws.recv(), grace)
                except TimeoutError:
                    break
            else:
                message = await ws.recv()
            current.feed_text(message)
        outcome.moderated += current.moderated
        new = 0
        for image in current.images(hosts):
            key = _identity(image)
            if key in seen or len(outcome.images) >= n:
                continue
            seen.add(key)
            outcome.images.append(image)
            new += 1
        log.debug(
            "imagine round %d: %d slot(s), %d new, %d moderated",
            outcome.rounds,
            len(current.slots),
            new,
            current.moderated,
        )
        if new == 0:
            break


async def imagine_over_ws(
    open_socket: Callable[[], Awaitable[Socket]],
    *,
    hosts: AssetHosts,
    prompt: str,
    n: int,
    aspect_ratio: str,
    pro: bool,
    deadline: float,
    max_rounds: int = MAX_ROUNDS,
    grace: float = ROUND_GRACE,
) -> list[GeneratedImage]:
    """Open the imagine socket (``open_socket``: the §5.1 handshake minus ``x-userid``) and run
    the rounds, all within ``deadline`` seconds. What was collected before the deadline or a
    closed socket is returned; every failure is an :class:`UpstreamError`."""
    outcome = ImagineOutcome()
    try:
        async with asyncio.timeout(deadline):
            try:
                ws = await open_socket()
            except HandshakeRefused as exc:
                raise refusal_error(exc) from exc
            except TransportTimeoutError as exc:
                raise UpstreamTimeoutError("grok.com's imagine socket did not open") from exc
            except TransportError as exc:
                if exc.verdict is Verdict.EGRESS:
                    raise
                raise UpstreamError(
                    f"could not open grok.com's imagine socket ({exc.message})"
                ) from exc
            try:
                await imagine_rounds(
                    ws,
                    prompt,
                    n=n,
                    aspect_ratio=aspect_ratio,
                    pro=pro,
                    hosts=hosts,
                    outcome=outcome,
                    max_rounds=max_rounds,
                    grace=grace,
                )
            finally:
                await ws.close()
    except TimeoutError as exc:
        if not outcome.images:
            raise UpstreamTimeoutError("grok.com's imagine socket took too long") from exc
        log.info("imagine deadline hit: returning %d picture(s)", len(outcome.images))
    except SocketClosed as exc:
        if not outcome.images:
            raise UpstreamStreamError("grok.com closed the imagine socket early") from exc
        log.info("imagine socket closed: returning %d picture(s)", len(outcome.images))
    if outcome.images:
        return outcome.images
    if outcome.moderated:
        raise ContentModeratedError("grok.com's moderation withheld every picture")
    raise UpstreamError("grok.com's imagine socket produced no picture")
