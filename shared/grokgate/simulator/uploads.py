"""Upload v2 of the simulator, and test helpers that serve files and redirects.

* ``POST /http/upload-file-v2/direct`` (docs/grok-protocol.md §6.4): needs the account's ``sso`` and
  ``sso-rw`` cookies (401 otherwise; no statsig, the browser sends none), takes the multipart
  part ``file`` and answers ``{"uploadId", "terminalError": null, "fileMetadata":
  {"fileMetadataId", "fileId", "fileUri": "users/<uid>/<id>/content"}}``. An empty file, or one
  over ``SimState.max_upload_bytes``, gets a ``terminalError`` object instead. The optional
  form field ``file_source`` (e.g. ``IMAGINE_SELF_UPLOAD_FILE_SOURCE``) is kept on the upload
  and in the recorded request body (key ``file_source``, only when sent).
* ``GET /__sim/files/{name}``: small deterministic bytes typed by the name's extension
  (``.png`` a valid 2×2 PNG, ``.jpg``/``.jpeg``, ``.pdf``, ``.txt``); 404 otherwise.
* ``GET /__sim/redirect?to=<url>``: 302 to ``to`` (SSRF tests of redirect handling).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .state import UPLOAD_PATH, RecordedRequest, SimState

__all__ = ["sample_file", "tiny_png"]

INVALID_CREDENTIALS = {
    "error": {
        "code": 16,
        "message": "Failed to look up session ID. [WKE=unauthorized:invalid-credentials]",
        "details": [],
    }
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def tiny_png() -> bytes:
    """A valid 2×2 RGB PNG (red, green / blue, white)."""
    rows = b"\x00\xff\x00\x00\x00\xff\x00" + b"\x00\x00\x00\xff\xff\xff\xff"
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


_JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xfe\x00\x0fgrok simulator\xff\xd9"
)
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def sample_file(name: str) -> tuple[bytes, str] | None:
    """The bytes and type ``GET /__sim/files/{name}`` serves, or None for an unknown type."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext == "png":
        return tiny_png(), "image/png"
    if ext in ("jpg", "jpeg"):
        return _JPEG, "image/jpeg"
    if ext == "pdf":
        return _PDF, "application/pdf"
    if ext == "txt":
        return f"Hello from the grok simulator: {name}\n".encode(), "text/plain; charset=utf-8"
    return None


async def serve_file(request: Request) -> Response:
    found = sample_file(request.path_params["name"])
    if found is None:
        return JSONResponse({"error": {"code": 5, "message": "no such sample file"}}, 404)
    data, mime = found
    return Response(data, media_type=mime)


async def redirect(request: Request) -> Response:
    target = request.query_params.get("to")
    if not target:
        return JSONResponse({"error": {"code": 3, "message": "to: required"}}, 400)
    return RedirectResponse(target, status_code=302)


def _terminal(reason: str) -> dict[str, Any]:
    return {"code": "FILE_REJECTED", "reason": reason, "message": reason}


async def upload(state: SimState, request: Request, clock: Callable[[], float]) -> Response:
    sso = request.cookies.get("sso")
    name = mime = ""
    data = b""
    problem: str | None = None
    file_source: str | None = None
    async with request.form(max_files=2, max_fields=10) as form:
        source = form.get("file_source")
        if isinstance(source, str):
            file_source = source
        part = form.get("file")
        if isinstance(part, UploadFile):
            name = part.filename or "file"
            mime = part.content_type or "application/octet-stream"
            data = await part.read(state.max_upload_bytes + 1)
        else:
            problem = "file: a multipart file part is required"
    state.record(
        RecordedRequest(
            method=request.method,
            path=UPLOAD_PATH,
            headers={k.lower(): v for k, v in request.headers.items()},
            body={"name": name, "mime": mime, "size": len(data)}
            | ({} if file_source is None else {"file_source": file_source}),
            token=sso,
            statsig_ok=True,
            time=clock(),
            cookies=dict(request.cookies),
        )
    )
    if not sso or request.cookies.get("sso-rw") != sso or sso not in state.accounts:
        return JSONResponse(INVALID_CREDENTIALS, status_code=401)
    if problem is not None:
        return JSONResponse({"error": {"code": 3, "message": problem, "details": []}}, 400)
    upload_id = str(uuid.uuid4())
    if not data:
        rejected = _terminal("the file is empty")
    elif len(data) > state.max_upload_bytes:
        rejected = _terminal(f"the file is larger than {state.max_upload_bytes} bytes")
    else:
        stored = state.add_upload(sso, name, mime, data, file_source)
        user = state.accounts[sso].user_id
        meta = {
            "fileMetadataId": stored.file_id,
            "fileId": stored.file_id,
            "fileUri": f"users/{user}/{stored.file_id}/content",
        }
        return JSONResponse({"uploadId": upload_id, "terminalError": None, "fileMetadata": meta})
    return JSONResponse({"uploadId": upload_id, "terminalError": rejected, "fileMetadata": None})
