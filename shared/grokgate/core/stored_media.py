"""Big inline attachments leave stored bodies for the media store, and come back on replay.

A stored response or thread keeps the whole context the model saw, attachments included. An
inline base64 payload over :data:`THRESHOLD` characters (a ``data:`` URI anywhere, or the
string under ``data``, ``file_data``, ``result`` or ``b64_json``: Anthropic's base64 sources,
OpenAI's ``input_file``/``input_audio`` and generated images) is put in the media store under
``stored/<owner hash>/<sha256 of its bytes>`` and replaced by a small reference::

    {"$grokgate_shelved": {"key": ..., "prefix": "data:image/png;base64,",
                           "encoding": "base64" | "utf8", "size": ...}}

The file holds the decoded bytes when the base64 is canonical (re-encoding gives the same
text), else the text itself as UTF-8, so :func:`unshelve` restores every string exactly. Equal
payloads share one file (per owner); each shelving puts the file again, which renews its
retention (``GROKGATE_RESPONSES_TTL``, like the records).

A client cannot smuggle a reference in: an object that looks like one is kept only when it
names this owner's own file (a body shelved before), and any other look-alike is escaped as
``{"$grokgate_escaped": {...}}``, which :func:`unshelve` turns back into the object as sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from grokgate.errors import InvalidRequestError
from grokgate.stores.media import MediaStore

__all__ = [
    "SHELF_PREFIX",
    "THRESHOLD",
    "MediaShelf",
    "ShelvedMediaMissing",
    "shelve",
    "unshelve",
]

THRESHOLD = 64 * 1024  # characters; longer payloads are shelved
SHELF_PREFIX = "stored/"
REF = "$grokgate_shelved"
ESC = "$grokgate_escaped"
PAYLOAD_KEYS = frozenset({"data", "file_data", "result", "b64_json"})
_DATA_URI = re.compile(r"data:[^,;]{0,255}(?:;[^,;]{0,255}){0,8};base64,")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTENT_TYPE = "application/octet-stream"


class ShelvedMediaMissing(InvalidRequestError):
    code = "stored_media_expired"


def _owner_dir(owner: str) -> str:
    return SHELF_PREFIX + hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _split(text: str) -> tuple[str, bytes, str]:
    """``text`` as (prefix kept in the reference, bytes for the file, their encoding)."""
    match = _DATA_URI.match(text)
    prefix = match.group(0) if match else ""
    tail = text[len(prefix) :]
    try:
        raw = base64.b64decode(tail, validate=True)
        if base64.b64encode(raw).decode("ascii") == tail:
            return prefix, raw, "base64"
    except (binascii.Error, ValueError):
        pass
    return prefix, tail.encode("utf-8", "surrogatepass"), "utf8"


def _joined(prefix: str, data: bytes, encoding: str) -> str:
    if encoding == "base64":
        return prefix + base64.b64encode(data).decode("ascii")
    return prefix + data.decode("utf-8", "surrogatepass")


def _ref_fields(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The fields of a well-formed reference, else None."""
    if len(obj) != 1 or REF not in obj:
        return None
    fields = obj[REF]
    if not isinstance(fields, dict) or set(fields) != {"key", "prefix", "encoding", "size"}:
        return None
    key, prefix = fields["key"], fields["prefix"]
    if not isinstance(key, str) or not isinstance(prefix, str):
        return None
    if fields["encoding"] not in ("base64", "utf8") or type(fields["size"]) is not int:
        return None
    return fields


def _is_special(obj: dict[str, Any]) -> bool:
    return len(obj) == 1 and (REF in obj or ESC in obj)


class _Shelver:
    def __init__(self, owner: str) -> None:
        self.folder = _owner_dir(owner)
        self.files: dict[str, bytes] = {}

    def walk(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, str):
            return self._string(value, key)
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, dict):
            if _is_special(value):
                fields = _ref_fields(value)
                if fields is not None and self._own(fields["key"]):
                    return value  # shelved before, for this owner
                return {ESC: {k: self.walk(v, k) for k, v in value.items()}}
            return {k: self.walk(v, k) for k, v in value.items()}
        return value

    def _own(self, key: str) -> bool:
        folder, _, digest = key.rpartition("/")
        return folder == self.folder and _HEX64.fullmatch(digest) is not None

    def _string(self, text: str, key: str | None) -> Any:
        if len(text) <= THRESHOLD:
            return text
        if key not in PAYLOAD_KEYS and not _DATA_URI.match(text):
            return text
        prefix, data, encoding = _split(text)
        media_key = f"{self.folder}/{hashlib.sha256(data).hexdigest()}"
        self.files[media_key] = data
        return {REF: {"key": media_key, "prefix": prefix, "encoding": encoding, "size": len(data)}}


async def shelve(value: Any, media: MediaStore, owner: str) -> Any:
    """``value`` (a JSON value, not changed) with every big inline payload moved to ``media``
    and replaced by a reference; put each distinct payload once."""

    async def ready() -> MediaStore:
        return media

    return await MediaShelf(ready).shelve(value, owner)


def _refs(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _refs(item, found)
    elif isinstance(value, dict):
        fields = _ref_fields(value)
        if fields is not None:
            found.add(fields["key"])
        elif _is_special(value):  # escaped: its members may hold references
            for inner in value[ESC].values() if isinstance(value.get(ESC), dict) else ():
                _refs(inner, found)
        else:
            for inner in value.values():
                _refs(inner, found)


def _restore(value: Any, files: dict[str, bytes]) -> Any:
    if isinstance(value, list):
        return [_restore(item, files) for item in value]
    if isinstance(value, dict):
        fields = _ref_fields(value)
        if fields is not None:
            return _joined(fields["prefix"], files[fields["key"]], fields["encoding"])
        if len(value) == 1 and isinstance(value.get(ESC), dict):
            return {k: _restore(v, files) for k, v in value[ESC].items()}
        return {k: _restore(v, files) for k, v in value.items()}
    return value


async def _fetch(media: MediaStore, key: str) -> bytes:
    found = await media.get(key)
    digest = key.rpartition("/")[2]
    if found is None or hashlib.sha256(found[0]).hexdigest() != digest:
        raise ShelvedMediaMissing(
            "an attachment of this stored conversation has expired or is unreadable; send "
            "the conversation again (with its attachments) without referring to stored state"
        )
    return found[0]


async def unshelve(value: Any, media: MediaStore) -> Any:
    """``value`` as it was before :func:`shelve` (a new value); ShelvedMediaMissing (400) when
    a file is gone."""
    keys: set[str] = set()
    _refs(value, keys)
    ordered = sorted(keys)
    blobs = await asyncio.gather(*(_fetch(media, key) for key in ordered))
    return _restore(value, dict(zip(ordered, blobs, strict=True)))


class MediaShelf:
    """The conversation store's :class:`~grokgate.stores.conversations.Shelf` on the media
    store, which is built (``media()``) only when a body has something to shelve or restore."""

    def __init__(self, media: Callable[[], Awaitable[MediaStore]]) -> None:
        self._media = media

    async def shelve(self, body: dict[str, Any], owner: str) -> dict[str, Any]:
        shelver = _Shelver(owner)
        out: dict[str, Any] = shelver.walk(body)
        if shelver.files:
            media = await self._media()
            await asyncio.gather(
                *(media.put(key, data, _CONTENT_TYPE) for key, data in shelver.files.items())
            )
        return out

    async def unshelve(self, body: dict[str, Any]) -> dict[str, Any]:
        keys: set[str] = set()
        _refs(body, keys)
        if not keys:
            restored: dict[str, Any] = _restore(body, {})  # look-alikes that were escaped
            return restored
        return dict(await unshelve(body, await self._media()))
