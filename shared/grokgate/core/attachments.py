"""Files and images a client sends with its messages, on their way to a grok.com upload.

Surfaces turn image/file blocks into :class:`FileInput` (a data URI or an http(s) URL, as the
client gave it). Before an account is leased, :class:`AttachmentResolver` turns each into an
:class:`Attachment` (bytes, type, name), enforcing size and type limits with clear 400s and
fetching remote URLs through the SSRF-guarded fetcher. The upstream client uploads the
attachments with the account that serves the request (docs/grok-protocol.md §6.4).

Types: the bytes' magic (PNG, JPEG, GIF, WebP, PDF) wins over what the client declared. Images
must be PNG, JPEG, GIF or WebP. Files may also be PDF, UTF-8 text (plain, Markdown, CSV, JSON)
or Office documents (docx, xlsx, pptx: ZIP bytes plus a declared type or file extension).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import posixpath
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from grokgate.errors import GrokGateError, InvalidRequestError
from grokgate.upstream.files import Attachment, ByteBudget

if TYPE_CHECKING:
    from grokgate.upstream.fetch import SafeFetcher

__all__ = ["Attachment", "AttachmentResolver", "FileInput", "sniff"]

IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
TEXT_TYPES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/csv": ".csv",
    "application/json": ".json",
}
_OOXML = "application/vnd.openxmlformats-officedocument."
OFFICE_TYPES = {
    _OOXML + "wordprocessingml.document": ".docx",
    _OOXML + "spreadsheetml.sheet": ".xlsx",
    _OOXML + "presentationml.presentation": ".pptx",
}
FILE_TYPES = {**IMAGE_TYPES, "application/pdf": ".pdf", **TEXT_TYPES, **OFFICE_TYPES}
_BY_EXTENSION = {ext: mime for mime, ext in FILE_TYPES.items()} | {
    ".jpeg": "image/jpeg",
    ".markdown": "text/markdown",
    ".text": "text/plain",
}
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "text/x-markdown": "text/markdown",
    "application/x-pdf": "application/pdf",
    "text/json": "application/json",
}
FETCHES_AT_ONCE = 4  # remote URLs of one request fetched at the same time
_WHITESPACE = re.compile(r"\s+")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"]+")


@dataclass(frozen=True, slots=True)
class FileInput:
    source: str  # ``data:<mime>;base64,...`` or an ``http(s)://`` URL
    kind: Literal["image", "file"] = "image"
    name: str | None = None  # the client's file name, when it sent one
    mime: str | None = None  # the client's declared type, when it sent one
    param: str | None = None  # where in the request it came from, for error messages


def sniff(data: bytes) -> str | None:
    """The type the bytes' magic number says ("zip" for any ZIP container), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _normalize(mime: str | None) -> str | None:
    if not mime:
        return None
    base = mime.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base) or None


def _extension(name: str | None) -> str | None:
    if not name:
        return None
    ext = posixpath.splitext(name.lower())[1]
    return _BY_EXTENSION.get(ext)


class AttachmentResolver:
    """Turns :class:`FileInput` into :class:`Attachment` (the ``FileResolver`` of the chat)."""

    def __init__(
        self, fetcher: SafeFetcher | None, *, max_bytes: int, max_total_bytes: int
    ) -> None:
        self.fetcher = fetcher
        self.max_bytes = max_bytes
        self.max_total_bytes = max_total_bytes

    async def resolve(self, inputs: Sequence[FileInput]) -> list[Attachment]:
        """Every input's attachment, in input order; the first bad input (in input order, of
        those that failed) is the 400. The request's total is enforced while fetching: every
        body is taken from one byte budget as it arrives, at most :data:`FETCHES_AT_ONCE` URLs
        are fetched at a time, and no fetch starts once the total is spent."""
        tasks: list[asyncio.Task[Attachment]] = []
        budget = ByteBudget(self.max_total_bytes, self._over_total)
        gate = asyncio.Semaphore(FETCHES_AT_ONCE)
        try:
            async with asyncio.TaskGroup() as group:
                for index, item in enumerate(inputs):
                    tasks.append(group.create_task(self._one(index, item, budget, gate)))
        except BaseExceptionGroup:
            failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
            for task in failed:
                error = task.exception()
                if isinstance(error, GrokGateError):
                    raise error from None
            raise
        attachments = [t.result() for t in tasks]
        if sum(len(a.data) for a in attachments) > self.max_total_bytes:
            raise self._over_total()
        return attachments

    def _over_total(self) -> InvalidRequestError:
        return InvalidRequestError(
            f"the attached files add up to more than {self.max_total_bytes} bytes, the most "
            "that can be attached to one request",
            param="messages",
            code="attachment_too_large",
        )

    async def _one(
        self, index: int, item: FileInput, budget: ByteBudget, gate: asyncio.Semaphore
    ) -> Attachment:
        param = item.param or "messages"
        label = f"{'image' if item.kind == 'image' else 'file'} {index + 1}"
        source = item.source.strip()
        scheme = source.split(":", 1)[0].lower() if ":" in source else ""
        url_name: str | None = None
        if scheme == "data":
            data, declared = self._data_uri(source, label, param)
            budget.take(len(data))
        elif scheme in ("http", "https"):
            if self.fetcher is None:
                raise InvalidRequestError(
                    f"{label}: remote URLs are disabled on this gateway; send a data URI",
                    param=param,
                    code="url_refused",
                )
            try:
                async with gate:
                    if budget.remaining <= 0:  # spent: no further fetch starts
                        raise self._over_total()
                    fetched = await self.fetcher.fetch(source, budget=budget)
            except GrokGateError as exc:
                exc.param = exc.param or param
                raise
            data, declared = fetched.data, fetched.content_type
            url_name = urllib.parse.urlsplit(fetched.url).path
        else:
            shown = f"{scheme}:" if scheme else "no scheme"
            raise InvalidRequestError(
                f"{label}: unsupported source ({shown}); send a data URI or an http(s) URL",
                param=param,
            )
        if not data:
            raise InvalidRequestError(f"{label} is empty", param=param)
        if len(data) > self.max_bytes:
            raise self._too_large(label, len(data), param)
        mime = _pick_type(item, data, _normalize(item.mime) or declared, url_name, label, param)
        name = _clean_name(item.name) or f"{item.kind}-{index + 1}{FILE_TYPES[mime]}"
        return Attachment(name=name, mime=mime, data=data)

    def accept(
        self,
        data: bytes,
        *,
        name: str | None,
        mime: str | None,
        index: int = 0,
        kind: Literal["image", "file"] = "image",
        param: str | None = None,
    ) -> Attachment:
        """An attachment from bytes the client uploaded (a multipart part), with the same type
        and size rules as every other input."""
        item = FileInput(source="", kind=kind, name=name, mime=mime, param=param)
        label = f"{'image' if kind == 'image' else 'file'} {index + 1}"
        where = param or "file"
        if not data:
            raise InvalidRequestError(f"{label} is empty", param=where)
        if len(data) > self.max_bytes:
            raise self._too_large(label, len(data), where)
        chosen = _pick_type(item, data, _normalize(mime), None, label, where)
        clean = _clean_name(name) or f"{kind}-{index + 1}{FILE_TYPES[chosen]}"
        return Attachment(name=clean, mime=chosen, data=data)

    def _too_large(self, label: str, size: int, param: str) -> InvalidRequestError:
        return InvalidRequestError(
            f"{label} is {size} bytes; the limit is {self.max_bytes} bytes per file",
            param=param,
            code="attachment_too_large",
        )

    def _data_uri(self, source: str, label: str, param: str) -> tuple[bytes, str | None]:
        head, comma, payload = source[len("data:") :].partition(",")
        if not comma:
            raise InvalidRequestError(f"{label}: invalid data URI (no comma)", param=param)
        params = [p.strip() for p in head.split(";")]
        mime = _normalize(params[0]) if "/" in params[0] else None
        if params[-1].lower() == "base64":
            compact = _WHITESPACE.sub("", payload)
            if "%" in compact:
                compact = urllib.parse.unquote(compact)
            if len(compact) * 3 // 4 > self.max_bytes + 2:
                raise self._too_large(label, len(compact) * 3 // 4, param)
            try:
                return base64.b64decode(compact, validate=True), mime
            except (binascii.Error, ValueError) as exc:
                raise InvalidRequestError(
                    f"{label}: the data URI is not valid base64", param=param
                ) from exc
        text_type = mime or "text/plain"
        if text_type not in TEXT_TYPES:
            raise InvalidRequestError(
                f"{label}: a {text_type} data URI must be base64-encoded", param=param
            )
        data = urllib.parse.unquote_to_bytes(payload)
        if len(data) > self.max_bytes:
            raise self._too_large(label, len(data), param)
        return data, text_type


def _pick_type(
    item: FileInput,
    data: bytes,
    declared: str | None,
    url_name: str | None,
    label: str,
    param: str,
) -> str:
    """The attachment's type: the sniffed one, else the declared one or the extension's."""
    sniffed = sniff(data)
    by_name = _extension(item.name) or _extension(url_name)
    allowed = IMAGE_TYPES if item.kind == "image" else FILE_TYPES
    if sniffed is not None and sniffed != "zip":
        mime: str | None = sniffed
    elif sniffed == "zip":
        mime = next((m for m in (declared, by_name) if m in OFFICE_TYPES), None)
    else:
        mime = next((m for m in (declared, by_name) if m in TEXT_TYPES), None)
        if mime is not None:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                mime = None
    if mime is None or mime not in allowed:
        if sniffed not in (None, "zip"):
            what = sniffed
        elif declared in IMAGE_TYPES or declared in TEXT_TYPES or declared in OFFICE_TYPES:
            what = f"declared {declared}, but the bytes do not match"
        else:
            what = declared or "unknown"
        if item.kind == "image":
            accepted = "PNG, JPEG, GIF or WebP"
        else:
            accepted = "an image, PDF, UTF-8 text (txt, md, csv, json), docx, xlsx or pptx"
        raise InvalidRequestError(
            f"{label}: unsupported {item.kind} type ({what}); send {accepted}",
            param=param,
            code="unsupported_file_type",
        )
    return mime


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    base = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return base[:200] or None
