"""Upload v2 (docs/grok-protocol.md §6.4): ``POST /http/upload-file-v2/direct``,
multipart/form-data.

The browser sends the file as the part ``file`` (with its name and type), the account's cookies
and the usual browser headers, but no ``x-xai-request-id`` and no ``x-statsig-id``. The answer
names the file by ``fileMetadata.fileMetadataId`` (older answers: ``fileId``; some only give an
``uploadId``), which the chat body then lists in ``fileAttachments``. The Imagine flows add the
form field ``file_source=IMAGINE_SELF_UPLOAD_FILE_SOURCE`` and also need ``fileMetadata.fileUri``
(``users/<uid>/<id>/content``) to name the upload by URL (:func:`upload_file_meta`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from grokgate.errors import (
    TransportTimeoutError,
    UpstreamError,
    UpstreamRejectedError,
    UpstreamTimeoutError,
)
from grokgate.logs import clip
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress
from grokgate.upstream.browser.profiles import Fingerprint
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.classify import classify_http
from grokgate.upstream.grokweb.request import api_headers
from grokgate.upstream.http import read_capped

if TYPE_CHECKING:
    from grokgate.upstream.grokweb.web import GrokWeb

UPLOAD_PATH = "/http/upload-file-v2/direct"
IMAGINE_SELF_UPLOAD_FILE_SOURCE = "IMAGINE_SELF_UPLOAD_FILE_SOURCE"
UPLOAD_TIMEOUT = 120.0  # one file, connect to answer
_BODY_LIMIT = 64 * 1024


class _FileMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")
    fileMetadataId: str | None = None
    fileId: str | None = None
    fileUri: str | None = None


class UploadReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uploadId: str | None = None
    terminalError: Any = None
    fileMetadata: _FileMetadata | None = None


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """An accepted upload: its id and, when grok.com named it, its ``users/<uid>/...`` path."""

    file_id: str
    file_uri: str | None = None


def upload_headers(*, cookie: str, fingerprint: Fingerprint, content_type: str) -> dict[str, str]:
    """The page's headers for a form upload: no statsig, no request id (§6.4)."""
    return api_headers(
        cookie=cookie, statsig="", fingerprint=fingerprint, content_type=content_type
    )


def multipart(fields: dict[str, str], attachment: Attachment) -> tuple[bytes, str]:
    """``multipart/form-data`` as Chrome builds it (a ``----WebKitFormBoundary`` boundary):
    the fields, then the file part; returns the body and its content type."""
    boundary = "----WebKitFormBoundary" + secrets.token_urlsafe(12).replace("-", "x")[:16]
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    filename = attachment.name.replace('"', "%22").replace("\r", "").replace("\n", "")
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        f"\r\nContent-Type: {attachment.mime}\r\n\r\n"
    ).encode()
    out += attachment.data + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        for key in ("reason", "message", "code"):
            if isinstance(error.get(key), str) and error[key]:
                return clip(str(error[key]), 200)
        return clip(json.dumps(error, ensure_ascii=False), 200)
    return clip(str(error), 200)


def parse_upload_meta(raw: bytes, name: str) -> UploadedFile:
    """The file id (and URI) from a 200 answer; :class:`UpstreamError` when the upload was
    rejected or the answer is unusable."""
    try:
        reply = UploadReply.model_validate_json(raw)
    except ValidationError as exc:
        raise UpstreamError("grok.com's upload answer is not the expected JSON") from exc
    if reply.terminalError:
        raise UpstreamRejectedError(
            f"grok.com rejected the upload of {name!r}: {_reason(reply.terminalError)}",
            code="upload_rejected",
        )
    meta = reply.fileMetadata
    file_id = (meta.fileMetadataId or meta.fileId if meta else None) or reply.uploadId
    if not file_id:
        raise UpstreamError("grok.com's upload answer names no file")
    return UploadedFile(file_id, meta.fileUri if meta and meta.fileUri else None)


def parse_upload(raw: bytes, name: str) -> str:
    """The file id from a 200 answer; :class:`UpstreamError` when the upload was rejected or the
    answer is unusable."""
    return parse_upload_meta(raw, name).file_id


async def upload_file(
    web: GrokWeb,
    egress: Egress,
    account: Account,
    attachment: Attachment,
    *,
    seconds: float = UPLOAD_TIMEOUT,
    file_source: str | None = None,
) -> str:
    """Upload one attachment with ``account`` through ``egress``; returns its file id.

    ``file_source``, when given, is sent as the extra form field ``file_source``. The whole call
    (connect to answer) is bounded by ``seconds``."""
    uploaded = await upload_file_meta(
        web, egress, account, attachment, seconds=seconds, file_source=file_source
    )
    return uploaded.file_id


async def upload_file_meta(
    web: GrokWeb,
    egress: Egress,
    account: Account,
    attachment: Attachment,
    *,
    seconds: float = UPLOAD_TIMEOUT,
    file_source: str | None = None,
) -> UploadedFile:
    """Like :func:`upload_file`, but returns the file id together with its ``fileUri``."""
    fields = {"file_source": file_source} if file_source is not None else {}
    body, content_type = multipart(fields, attachment)

    def headers(through: Egress) -> dict[str, str]:
        return upload_headers(
            cookie=web.cookie(account, through),
            fingerprint=through.fingerprint,
            content_type=content_type,
        )

    try:
        async with asyncio.timeout(seconds):
            async with web.open(
                egress, "POST", web.base_url + UPLOAD_PATH, headers=headers, body=body
            ) as response:
                status, answer_headers = response.status_code, response.headers
                raw = await read_capped(response, _BODY_LIMIT - 1)
    except (TimeoutError, TransportTimeoutError) as exc:
        raise UpstreamTimeoutError("grok.com did not take the file upload in time") from exc
    if status != 200:
        text = raw.decode("utf-8", errors="replace")
        raise classify_http(status, answer_headers, text)
    return parse_upload_meta(raw, attachment.name)
