"""Request dependencies shared by every surface: API-key auth and the runtime."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread
from fastapi import Request
from pydantic import SecretStr
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from grokgate.errors import AuthenticationError, InvalidRequestError

if TYPE_CHECKING:
    from grokgate.core.attachments import AttachmentResolver
    from grokgate.runtime import Runtime
    from grokgate.upstream.files import Attachment

T = TypeVar("T")


def key_matches(supplied: str, keys: list[SecretStr]) -> bool:
    """Constant-time check of ``supplied`` against every configured key (no early exit)."""
    given = supplied.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.get_secret_value().encode())
    return found


def key_in(headers: Mapping[str, str]) -> str | None:
    """The API key in ``headers``: ``Authorization: Bearer <key>`` or ``x-api-key``."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return headers.get("x-api-key") or None


def supplied_key(request: Request) -> str | None:
    return key_in(request.headers)


def key_problem(headers: Mapping[str, str], keys: list[SecretStr]) -> AuthenticationError | None:
    """Why a request with ``headers`` may not use a gateway with ``keys`` (None: it may)."""
    if not keys:
        return None
    key = key_in(headers)
    if key is None:
        return AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
            "or in an 'x-api-key' header."
        )
    if not key_matches(key, keys):
        return AuthenticationError("Incorrect API key provided.")
    return None


OFF_LOOP_BYTES = 256 * 1024


async def by_size(size: int, func: Callable[..., T], *args: object) -> T:
    """``func(*args)``, work on a body of ``size`` bytes: on the loop up to
    :data:`OFF_LOOP_BYTES`, in a worker thread beyond, so a long conversation does not block
    the event loop."""
    if size <= OFF_LOOP_BYTES:
        return func(*args)
    return await anyio.to_thread.run_sync(func, *args)


async def translated(request: Request, translate: Callable[[], T]) -> T:
    """``translate()`` (a request's translation), placed by :func:`by_size`."""
    return await by_size(len(await request.body()), translate)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def require_api_key(request: Request) -> None:
    """Second line of defence: :class:`~grokgate.api.guards.ApiKeyRequired` has already
    answered 401 for ``/v1/...`` before the body was read."""
    problem = key_problem(request.headers, runtime_of(request).settings.api_keys)
    if problem is not None:
        raise problem


def owner_of(request: Request) -> str:
    """Who owns what this request creates (video jobs): a hash of its API key, "" when the
    gateway has no keys. Jobs of one key are invisible to another."""
    if not runtime_of(request).settings.api_keys:
        return ""
    key = supplied_key(request) or ""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def public_base_url(request: Request) -> str:
    """This gateway's base URL as clients reach it (local media URLs are built on it)."""
    configured = runtime_of(request).settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


async def read_form(request: Request, *, max_files: int) -> FormData:
    """The multipart body, or a clear 400 (wrong content type, malformed body, too many files)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise InvalidRequestError(
            "This endpoint takes multipart/form-data", code="invalid_content_type"
        )
    try:
        return await request.form(max_files=max_files, max_fields=100)
    except StarletteHTTPException as exc:
        raise InvalidRequestError(f"Invalid multipart body: {exc.detail}") from exc


async def read_image(
    part: UploadFile, resolver: AttachmentResolver, *, param: str, index: int = 0
) -> Attachment:
    """An uploaded picture as an attachment, under the resolver's size and type rules (read
    one byte past the limit, so an oversized part is refused without reading all of it)."""
    data = await part.read(resolver.max_bytes + 1)
    return resolver.accept(
        data, name=part.filename, mime=part.content_type, index=index, param=param
    )
