"""Upload v2 (research note §6.4): ``POST /http/upload-file-v2/direct``, multipart/form-data.

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
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from grokgate.errors import UpstreamError, UpstreamRejectedError, UpstreamTimeoutError
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.classify import classify_http
from grokgate.upstream.grokweb.request import api_headers
from grokgate.upstream.http import read_capped

UPLOAD_PATH = "/http/upload-file-v2/direct"
IMAGINE_SELF_UPLOAD_FILE_SOURCE = "IMAGINE_SELF_UPLOAD_FILE_SOURCE"
UPLOAD_TIMEOUT = 120.0  # one file, connect to answer
_BODY_LIMIT = 64 * 1024
_DROPPED = frozenset({"x-statsig-id", "x-xai-request-id", "content-type"})


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


def upload_headers(*, cookie: str, user_agent: str) -> dict[str, str]:
    """The chat's browser headers minus statsig, request id and the JSON content type."""
    headers = api_headers(cookie=cookie, statsig="", user_agent=user_agent)
    return {k: v for k, v in headers.items() if k.lower() not in _DROPPED}


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        for key in ("reason", "message", "code"):
            if isinstance(error.get(key), str) and error[key]:
                return str(error[key])[:200]
        return json.dumps(error, ensure_ascii=False)[:200]
    return str(error)[:200]


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
    http: httpx.AsyncClient,
    base_url: str,
    attachment: Attachment,
    *,
    cookie: str,
    user_agent: str,
    seconds: float = UPLOAD_TIMEOUT,
    file_source: str | None = None,
) -> str:
    """Upload one attachment with the account whose cookie is given; returns its file id.

    ``file_source``, when given, is sent as the extra form field ``file_source``. The whole call
    (connect to answer) is bounded by ``seconds``."""
    uploaded = await upload_file_meta(
        http,
        base_url,
        attachment,
        cookie=cookie,
        user_agent=user_agent,
        seconds=seconds,
        file_source=file_source,
    )
    return uploaded.file_id


async def upload_file_meta(
    http: httpx.AsyncClient,
    base_url: str,
    attachment: Attachment,
    *,
    cookie: str,
    user_agent: str,
    seconds: float = UPLOAD_TIMEOUT,
    file_source: str | None = None,
) -> UploadedFile:
    """Like :func:`upload_file`, but returns the file id together with its ``fileUri``."""
    request = http.build_request(
        "POST",
        base_url + UPLOAD_PATH,
        data={"file_source": file_source} if file_source is not None else None,
        files={"file": (attachment.name, attachment.data, attachment.mime)},
        headers=upload_headers(cookie=cookie, user_agent=user_agent),
    )
    try:
        async with asyncio.timeout(seconds):
            response = await http.send(request, stream=True)
            try:
                raw = await read_capped(response, _BODY_LIMIT - 1)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise UpstreamTimeoutError("grok.com did not take the file upload in time") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"could not upload to grok.com ({type(exc).__name__})") from exc
    if response.status_code != 200:
        text = raw.decode("utf-8", errors="replace")
        raise classify_http(response.status_code, response.headers, text)
    return parse_upload_meta(raw, attachment.name)
