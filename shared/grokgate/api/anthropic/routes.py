"""PLACEHOLDER (being written): Anthropic ``/v1/messages`` routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from grokgate.api.deps import require_api_key

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])
