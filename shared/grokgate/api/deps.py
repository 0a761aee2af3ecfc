"""Request dependencies shared by every surface: API-key auth and the runtime."""

from __future__ import annotations

import hmac

from fastapi import Request
from pydantic import SecretStr

from grokgate.api.runtime import Runtime
from grokgate.errors import AuthenticationError


def key_matches(supplied: str, keys: list[SecretStr]) -> bool:
    """Constant-time check of ``supplied`` against every configured key (no early exit)."""
    given = supplied.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.get_secret_value().encode())
    return found


def supplied_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key") or None


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def require_api_key(request: Request) -> None:
    keys = runtime_of(request).settings.api_keys
    if not keys:
        return
    key = supplied_key(request)
    if key is None:
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
            "or in an 'x-api-key' header."
        )
    if not key_matches(key, keys):
        raise AuthenticationError("Incorrect API key provided.")
