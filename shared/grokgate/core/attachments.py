"""Files and images a client sends with its messages, on their way to a grok.com upload.

Surfaces turn image/file blocks into :class:`FileInput` (a data URI or an http(s) URL, as the
client gave it). Before an account is leased, :func:`resolve` turns each into an
:class:`Attachment` (bytes, type, name), enforcing size and type limits with clear 400s and
fetching remote URLs through the SSRF-guarded fetcher. The upstream client uploads the
attachments with the account that serves the request (research note §6.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grokgate.upstream.files import Attachment

__all__ = ["Attachment", "FileInput"]


@dataclass(frozen=True, slots=True)
class FileInput:
    source: str  # ``data:<mime>;base64,...`` or an ``http(s)://`` URL
    kind: Literal["image", "file"] = "image"
    name: str | None = None  # the client's file name, when it sent one
    mime: str | None = None  # the client's declared type, when it sent one
    param: str | None = None  # where in the request it came from, for error messages
