"""The media store contract: generated images and videos, kept and handed out as URLs.

:class:`MediaStore` owns the public operations and their validation (keys, content types,
download names) and calls a few primitives each backend implements: the local directory
(:mod:`grokgate.stores.media_local`, URLs signed by the app and served by it) and S3
(:mod:`grokgate.stores.media_s3`, presigned URLs the client opens directly).

Keys are made by grokgate (``images/<id>.jpg``, ``videos/<job>/video.mp4``), never by clients,
so they are held to a strict shape: ``[A-Za-z0-9._/-]``, at most :data:`MAX_KEY_LENGTH`
characters, segments separated by single ``/``, no leading ``/``, no ``..`` and no segment
starting with ``.`` (a backend may keep its own hidden files beside the media).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from grokgate.errors import InvalidRequestError

__all__ = [
    "MAX_KEY_LENGTH",
    "MediaStore",
    "StoredMedia",
    "content_disposition",
    "validate_content_type",
    "validate_key",
]

MAX_KEY_LENGTH = 512
_KEY = re.compile(r"[A-Za-z0-9._/-]+")
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\]*\"))*")
_MAX_CONTENT_TYPE = 255
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]")
_MAX_FILENAME = 200


@dataclass(frozen=True, slots=True)
class StoredMedia:
    key: str
    size: int
    content_type: str


def validate_key(key: str) -> str:
    """``key`` if it is a well-formed media key; :class:`InvalidRequestError` otherwise."""
    if not isinstance(key, str) or not key:
        raise InvalidRequestError("a media key must be a non-empty string", param="key")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequestError(
            f"a media key must be at most {MAX_KEY_LENGTH} characters", param="key"
        )
    if not _KEY.fullmatch(key):
        raise InvalidRequestError(
            "a media key may only contain letters, digits, '.', '_', '-' and '/'", param="key"
        )
    if ".." in key:
        raise InvalidRequestError("a media key must not contain '..'", param="key")
    for segment in key.split("/"):
        if not segment:
            raise InvalidRequestError(
                "a media key must not start or end with '/' nor contain '//'", param="key"
            )
        if segment.startswith("."):
            raise InvalidRequestError("a media key segment must not start with '.'", param="key")
    return key


def validate_content_type(content_type: str) -> str:
    """``content_type`` if it is a plain ``type/subtype[; param=value]`` media type."""
    if (
        not isinstance(content_type, str)
        or len(content_type) > _MAX_CONTENT_TYPE
        or not _CONTENT_TYPE.fullmatch(content_type)
    ):
        raise InvalidRequestError(
            "a content type must look like 'type/subtype'", param="content_type"
        )
    return content_type


def safe_filename(filename: str) -> str:
    """``filename`` reduced to characters that are safe inside a quoted header value."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _FILENAME_UNSAFE.sub("_", base).strip(" .")[:_MAX_FILENAME]
    return cleaned or "download"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """A ``Content-Disposition`` value naming ``filename`` (RFC 6266: an ASCII fallback, plus
    ``filename*`` when the name is not plain ASCII)."""
    fallback = safe_filename(filename)
    value = f'{disposition}; filename="{fallback}"'
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:_MAX_FILENAME]
    if name and name != fallback and not any(ord(c) < 32 or ord(c) == 127 for c in name):
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


class MediaStore(ABC):
    """Public operations on stored media; backends implement the ``_`` primitives."""

    #: True: clients are sent to :meth:`url` (S3). False: the app serves the bytes itself.
    redirects: bool = False

    async def put(self, key: str, data: bytes, content_type: str) -> StoredMedia:
        """Store ``data`` under ``key`` (replacing what was there)."""
        validate_key(key)
        validate_content_type(content_type)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"media data must be bytes, not {type(data).__name__}")
        payload = bytes(data)
        await self._put(key, payload, content_type)
        return StoredMedia(key=key, size=len(payload), content_type=content_type)

    async def get(self, key: str) -> tuple[bytes, str] | None:
        """The bytes and content type stored under ``key``; None if there are none."""
        return await self._get(validate_key(key))

    async def url(
        self,
        key: str,
        *,
        base_url: str,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A URL a client can open for ``key``, valid for the store's lifetime (``ttl``).

        ``base_url`` is this gateway as clients see it (used by stores the app serves);
        ``filename`` and ``content_type`` override the download name and type where the
        backend can (S3). The key is not checked for existence.
        """
        validate_key(key)
        if content_type is not None:
            validate_content_type(content_type)
        return await self._url(key, base_url=base_url, filename=filename, content_type=content_type)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; returns whether it existed."""
        return await self._delete(validate_key(key))

    async def sweep(self, retention: Mapping[str, float], default: float) -> int:
        """Delete files older than their retention: ``retention[<first key segment>]`` seconds,
        else ``default``; how many. A backend with its own expiry (S3 lifecycle rules, one per
        prefix in the template) deletes nothing here."""
        return 0

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""

    # --- primitives each backend implements (keys and types already validated) -----------

    @abstractmethod
    async def _put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def _get(self, key: str) -> tuple[bytes, str] | None: ...

    @abstractmethod
    async def _url(
        self, key: str, *, base_url: str, filename: str | None, content_type: str | None
    ) -> str: ...

    @abstractmethod
    async def _delete(self, key: str) -> bool: ...
