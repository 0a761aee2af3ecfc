"""``GET /media/{key}``: files of the local media store, behind signed expiring URLs.

The signature is the only credential (clients open these URLs in browsers and image tags, with
no API key); a tampered, malformed or expired URL is a 403. In the cloud media lives in S3 and
this route is not used.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from grokgate.api.deps import runtime_of
from grokgate.errors import NotFoundError, PermissionDeniedError
from grokgate.stores.media_local import LocalMediaStore

router = APIRouter()


@router.get("/media/{key:path}", include_in_schema=False)
async def media_file(
    key: str, request: Request, expires: str = "", signature: str = ""
) -> Response:
    store = await runtime_of(request).media_store()
    if not isinstance(store, LocalMediaStore):
        raise NotFoundError("media is served from object storage on this gateway")
    if not store.verify(key, expires, signature):
        raise PermissionDeniedError(
            "This media URL is invalid or has expired", code="invalid_signature"
        )
    found = await store.get(key)
    if found is None:
        raise NotFoundError("This media file no longer exists")
    data, mime = found
    return Response(
        data,
        media_type=mime,
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
