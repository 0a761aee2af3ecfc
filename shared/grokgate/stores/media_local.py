"""Media in a local directory, served by the app itself behind signed, expiring URLs.

A file ``<root>/<key>`` holds the bytes; a hidden sidecar ``.<name>.type`` beside it holds the
content type (keys never have a segment starting with ``.``, so no key can name a sidecar or a
temporary file). Writes go to a temporary file first and are renamed into place
(``os.replace``), so a reader sees the old file or the new one, never half of one. File I/O runs
in a worker thread.

:meth:`LocalMediaStore.url` returns ``<base>/media/<key>?expires=<epoch>&signature=<hex>``: an
HMAC-SHA256, under a secret only the gateway knows, of the key and the expiry. The route that
serves ``/media/...`` checks it with :meth:`LocalMediaStore.verify` before reading the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import mimetypes
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from grokgate.errors import InvalidRequestError
from grokgate.stores.media import MediaStore, validate_key
from grokgate.stores.sqlite_open import unavailable

__all__ = ["MIN_SECRET_BYTES", "SECRET_FILE", "LocalMediaStore", "local_secret"]

SECRET_FILE = "media.key"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 16
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_EXPIRES = re.compile(r"[0-9]{1,12}")
_T = TypeVar("_T")
_STALE_TMP_SECONDS = 3600.0
_EXTRA_TYPES = {".webp": "image/webp", ".mp4": "video/mp4", ".webm": "video/webm"}


def local_secret(data_dir: Path) -> bytes:
    """The key that signs local media URLs: ``data_dir/media.key``, created on first use.

    32 random bytes, written with mode 0600 and published atomically (a hard link of a
    finished temporary file), so concurrent first starts agree on one secret. Raises
    ValueError if an existing file is too short to be a secret.
    """
    path = Path(data_dir) / SECRET_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_FILE}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(SECRET_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process got there first: use its secret
            pass
        except OSError:  # no hard links on this file system
            if not path.exists():
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_bytes()
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{path} holds {len(secret)} bytes; a media secret needs at least "
            f"{MIN_SECRET_BYTES} (delete it to have a new one made)"
        )
    return secret


def _guess_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or DEFAULT_CONTENT_TYPE


class LocalMediaStore(MediaStore):
    redirects = False

    def __init__(
        self,
        root: Path,
        secret: bytes,
        *,
        ttl: float = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the media secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.root = Path(root)
        self.ttl = ttl
        self.clock = clock
        self._secret = bytes(secret)

    # --- signed URLs -------------------------------------------------------------------------

    def sign(self, key: str, expires: int) -> str:
        """The hex HMAC-SHA256 of ``key`` and ``expires`` (epoch seconds)."""
        message = f"grokgate-media-v1\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, key: str, expires: str | int, signature: str) -> bool:
        """Whether a URL's ``key``, ``expires`` and ``signature`` are genuine and unexpired.

        Never raises: malformed values are simply not valid.
        """
        try:
            validate_key(key)
        except InvalidRequestError:
            return False
        if isinstance(expires, bool):
            return False
        if isinstance(expires, str):
            if not _EXPIRES.fullmatch(expires):
                return False
            expires = int(expires)
        if not isinstance(expires, int) or expires < 0:
            return False
        if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
            return False
        if not hmac.compare_digest(self.sign(key, expires), signature):
            return False
        return self.clock() <= expires

    async def _url(
        self, key: str, *, base_url: str, filename: str | None, content_type: str | None
    ) -> str:
        # The app serves the file: it names it from the key and its stored type.
        expires = int(self.clock() + self.ttl)
        signature = self.sign(key, expires)
        return f"{base_url.rstrip('/')}/media/{key}?expires={expires}&signature={signature}"

    # --- files -------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(f".{path.name}.type")

    async def _put(self, key: str, data: bytes, content_type: str) -> None:
        await self._io("write", self._write, self._path(key), data, content_type)

    async def _get(self, key: str) -> tuple[bytes, str] | None:
        return await self._io("read", self._read, self._path(key), key)

    async def _delete(self, key: str) -> bool:
        return await self._io("delete", self._remove, self._path(key))

    async def sweep(self, retention: Mapping[str, float], default: float) -> int:
        """Delete every file whose age (now by ``clock`` minus its modification time) reached
        its retention, with its type sidecar; also temporary files of writes that died over
        an hour ago, and directories left empty."""
        return await self._io("sweep", self._sweep_files, dict(retention), default, self.clock())

    def _sweep_files(self, retention: dict[str, float], default: float, now: float) -> int:
        if not self.root.is_dir():
            return 0
        removed = 0
        for path in sorted(self.root.rglob("*"), reverse=True):  # files before their folders
            try:
                if path.is_dir():
                    if path != self.root and not any(path.iterdir()):
                        path.rmdir()
                    continue
                age = now - path.stat().st_mtime
                if path.name.startswith("."):
                    if path.name.endswith(".tmp") and age >= _STALE_TMP_SECONDS:
                        path.unlink()
                    continue  # a sidecar goes with its file
                top = path.relative_to(self.root).parts[0]
                if age >= retention.get(top, default):
                    path.unlink()
                    self._sidecar(path).unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:  # a concurrent delete or sweep got there first
                continue
        return removed

    async def _io(self, what: str, fn: Callable[..., _T], *args: object) -> _T:
        try:
            return await asyncio.to_thread(fn, *args)
        except OSError as exc:
            raise unavailable(f"{what} local media", exc) from exc

    def _write(self, path: Path, data: bytes, content_type: str) -> None:
        for attempt in range(3):  # a concurrent delete may remove an emptied directory
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                _atomic_write(self._sidecar(path), content_type.encode())
                _atomic_write(path, data)
                return
            except FileNotFoundError:
                if attempt == 2:
                    raise

    def _read(self, path: Path, key: str) -> tuple[bytes, str] | None:
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        try:
            content_type = self._sidecar(path).read_text().strip() or _guess_type(key)
        except FileNotFoundError:
            content_type = _guess_type(key)
        return data, content_type

    def _remove(self, path: Path) -> bool:
        if path.is_dir():
            return False
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        self._sidecar(path).unlink(missing_ok=True)
        parent = path.parent
        root = self.root.resolve()
        while parent.resolve() != root and root in parent.resolve().parents:
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent
        return True


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
