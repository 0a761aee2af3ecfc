"""The one kind of router every ``/v1`` surface uses: the API key is required on each route."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from grokgate.api.deps import require_api_key
from grokgate.api.json_text import JsonBodyRoute

__all__ = ["v1_router"]


def v1_router() -> APIRouter:
    """A router for ``/v1/...`` routes, each requiring a client API key; a large JSON body is
    parsed off the event loop (:class:`~grokgate.api.json_text.JsonBodyRoute`)."""
    return APIRouter(
        prefix="/v1", dependencies=[Depends(require_api_key)], route_class=JsonBodyRoute
    )
