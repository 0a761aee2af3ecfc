"""``/admin/...``: operator endpoints, served only while ``GROKGATE_ADMIN_KEY`` is set and only
to that key (separate from client keys: ``Authorization: Bearer`` or ``x-admin-key``).

``GET /admin/doctor[?account=ID]``: :func:`grokgate.doctor.diagnose` as JSON, for the cloud,
where no shell runs ``grokgate doctor``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from grokgate.api.deps import key_matches, runtime_of
from grokgate.errors import AuthenticationError, NotFoundError


async def require_admin_key(request: Request) -> None:
    admin = runtime_of(request).settings.admin_key
    if admin is None:  # the router is not even mounted then; never answer without a key
        raise NotFoundError("Not Found")
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    supplied = value.strip() if scheme.lower() == "bearer" else ""
    supplied = supplied or request.headers.get("x-admin-key", "")
    if not supplied or not key_matches(supplied, [admin]):
        raise AuthenticationError("This endpoint needs the admin key (GROKGATE_ADMIN_KEY).")


router = APIRouter(
    prefix="/admin", dependencies=[Depends(require_admin_key)], include_in_schema=False
)


@router.get("/doctor")
async def doctor_route(request: Request, account: str | None = None) -> dict[str, Any]:
    from grokgate.doctor import diagnose

    report = await diagnose(runtime_of(request), account)
    return report.as_json()
