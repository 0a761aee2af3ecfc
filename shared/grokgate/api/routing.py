"""The one kind of router every ``/v1`` surface uses: the API key is required on each route."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from grokgate.api.deps import require_api_key

__all__ = ["v1_router"]


def v1_router() -> APIRouter:
    """A router for ``/v1/...`` routes, each requiring a client API key."""
    return APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])
