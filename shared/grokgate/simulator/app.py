"""The grok.com simulator as a Starlette app (see ``create_app``).

Fault notes: ``cut`` drops the chat stream uncleanly after ``after`` frames and ``truncate``
ends it cleanly (see :mod:`.wire`). Both consume quota, as a normal answer does; ``slow`` sleeps
``delay`` seconds and then answers normally. Media requests on ``conversations/new`` (a
``modelName`` without ``modeId``, or a ``Drawing: `` chat in ``fast``) are built by
:mod:`.media` and go through the same prelude and chat faults; media faults (``MEDIA_FAULTS``)
posted to ``/__sim/faults`` go to ``SimState.media``. The WebSocket chat gateway
(``/ws/mgw/``), ``GET /api/auth/session`` and ``POST /__sim/gateway`` live in :mod:`.gateway`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from . import uploads
from .answers import answer_frames, conversation_frame, stream_error_frame
from .gateway import GatewaySocket
from .imagine import IMAGINE_PATH, ImagineSocket
from .media import POST_CREATE_PATH, QUOTA_INFO_PATH, MediaHandlers, is_lite, is_media_request
from .media_state import MEDIA_FAULTS
from .state import (
    CHAT_PATH,
    MGW_PATH,
    MODES,
    RATE_LIMITS_PATH,
    SESSION_PATH,
    UPLOAD_PATH,
    RecordedRequest,
    SimState,
    SimUpload,
)
from .statsig import DEMO_CONSTANTS, StatsigConstants, sign, verify
from .wire import (
    ANTI_BOT,
    HTTP_FAULTS,
    INVALID_CREDENTIALS,
    TOO_MANY,
    Plan,
    SimulatedCut,
    err,
    http_fault,
    install_log_filter,
    iso,
    stream,
)

__all__ = ["SimulatedCut", "cf_bm_for", "create_app"]

_INVALID = object()


def cf_bm_for(token: str) -> str:
    """The ``__cf_bm`` value the simulator sets on chat responses for ``token``."""
    return "sim-" + hashlib.sha256(token.encode()).hexdigest()[:12]


def _cookie_domain(request: Request) -> str | None:
    """The request host without its port (cookie domains carry no port)."""
    host = request.headers.get("host") or ""
    if host.startswith("["):
        return host[1:].split("]", 1)[0] or None
    return host.rsplit(":", 1)[0] or None


class _Simulator:
    def __init__(
        self,
        state: SimState,
        constants: StatsigConstants,
        accept_synthetic: bool,
        window_s: int,
        token_delay: float,
        clock: Callable[[], float],
    ) -> None:
        self.state = state
        self.constants = constants
        self.accept_synthetic = accept_synthetic
        self.window_s = window_s
        self.token_delay = token_delay
        self.clock = clock
        self.media = MediaHandlers(state, clock, self._prelude)

    # shared prelude ------------------------------------------------------------------------
    async def _prelude(self, request: Request, path: str) -> tuple[str, Any] | Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = _INVALID
        sso = request.cookies.get("sso")
        reason = verify(
            request.headers.get("x-statsig-id"),
            "POST",
            path,
            self.state.statsig or self.constants,
            self.clock(),
            window_s=self.window_s,
            accept_synthetic=self.accept_synthetic,
        )
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=None if body is _INVALID else body,
            token=sso,
            statsig_ok=reason is None,
            statsig_reason=reason,
            time=self.clock(),
            cookies=dict(request.cookies),
        )
        self.state.record(recorded)
        request.state.sim_record = recorded  # a streamed answer records how it ended on it
        if not sso or request.cookies.get("sso-rw") != sso or sso not in self.state.accounts:
            return JSONResponse(INVALID_CREDENTIALS, status_code=401)
        if reason is not None:
            return JSONResponse(ANTI_BOT, status_code=403)
        return sso, body

    # chat ----------------------------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        response = await self._chat(request)
        value = cf_bm_for(request.cookies.get("sso") or "")
        response.set_cookie(
            "__cf_bm", value, path="/", domain=_cookie_domain(request), samesite=None
        )
        return response

    async def _chat(self, request: Request) -> Response:
        pre = await self._prelude(request, CHAT_PATH)
        if isinstance(pre, Response):
            return pre
        token, body = pre
        plan = self.media.plan(token, body) if is_media_request(body) else self._plan(token, body)
        if isinstance(plan, Response):
            return plan
        fault = self.state.take_fault(token)
        if fault is not None and fault.name == "slow":
            await asyncio.sleep(fault.delay)
        elif fault is not None and fault.name in HTTP_FAULTS:
            return http_fault(fault)
        head = conversation_frame(str(uuid.uuid4()), iso(self.clock()))
        record: RecordedRequest = request.state.sim_record
        if fault is not None and fault.name == "inband_error":
            frame = {"error": {"code": 8, "message": "rate limited"}}
            return stream([head, frame], record=record)
        if fault is not None and fault.name == "inband_response_error":
            text = "ResourceExhausted: perf_based_admission_controller"
            return stream([head, stream_error_frame(text)], record=record)
        if not plan.allowed:
            text = "Model not available for this account"
            return stream([head, stream_error_frame(text, model_not_available=True)], record=record)
        retry_after = plan.consume()
        if retry_after is not None:
            return JSONResponse(TOO_MANY, 429, headers={"retry-after": str(retry_after)})
        frames = [head, *plan.frames()]
        if fault is not None and fault.name in ("cut", "truncate"):
            return stream(
                frames,
                token_delay=self.token_delay,
                stop_after=fault.after,
                clean=fault.name == "truncate",
                record=record,
            )
        return stream(frames, token_delay=self.token_delay, record=record)

    def _plan(self, token: str, body: Any) -> Plan | Response:
        """A chat (echo answer, or lite images for ``Drawing: `` in ``fast``), or the 400."""
        problem = _validate_chat(body)
        if problem:
            return JSONResponse(err(3, problem), status_code=400)
        files = self._attached(token, body)
        if isinstance(files, str):
            return JSONResponse(err(3, files), status_code=400)
        message: str = body["message"]
        mode: str = body["modeId"]

        def frames() -> list[Any]:
            if is_lite(body):
                return self.media.lite_frames(token, body)
            return answer_frames(
                message,
                mode,
                user_response_id=str(uuid.uuid4()),
                response_id=str(uuid.uuid4()),
                create_time=iso(self.clock()),
                end_time=iso(self.clock()),
                files=files,
            )

        return Plan(
            frames=frames,
            consume=lambda: self.state.consume(token, mode),
            allowed=self.state.accounts[token].can_use(mode),
        )

    def _attached(self, token: str, body: dict[str, Any]) -> list[SimUpload] | str:
        """The uploads ``fileAttachments`` names (all ``token``'s own), or the 400 message."""
        ids = body.get("fileAttachments") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return "fileAttachments: must be a list of file ids"
        files: list[SimUpload] = []
        for file_id in ids:
            upload = self.state.upload_of(token, file_id)
            if upload is None:
                return f"file not found: {file_id}"
            files.append(upload)
        return files

    async def upload(self, request: Request) -> Response:
        return await uploads.upload(self.state, request, self.clock)

    # rate limits ---------------------------------------------------------------------------
    async def rate_limits(self, request: Request) -> Response:
        pre = await self._prelude(request, RATE_LIMITS_PATH)
        if isinstance(pre, Response):
            return pre
        token, body = pre
        name = body.get("modelName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return JSONResponse(err(3, "modelName: must be a non-empty string"), 400)
        window, remaining, total = self.state.quota(token, name)
        answer: dict[str, Any] = {
            "windowSizeSeconds": window,
            "remainingQueries": remaining,
            "totalQueries": total,
            "lowEffortRateLimits": None,
            "highEffortRateLimits": None,
        }
        if total and not remaining:  # exhausted: when it reopens (docs/grok-protocol.md §8.1)
            answer["waitTimeSeconds"] = self.state.wait_s(token, name)
        return JSONResponse(answer)

    # control endpoints ---------------------------------------------------------------------
    async def sign(self, request: Request) -> Response:
        body = await _json_or_none(request)
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            return JSONResponse(err(3, "path: required string"), status_code=400)
        method = body.get("method") or "POST"
        if not isinstance(method, str):
            return JSONResponse(err(3, "method: must be a string"), status_code=400)
        value = sign(method, body["path"], self.state.statsig or self.constants, self.clock())
        return JSONResponse({"x-statsig-id": value})

    async def faults(self, request: Request) -> Response:
        body = await _json_or_none(request)
        if not isinstance(body, dict):
            return JSONResponse(err(3, "body must be a JSON object"), status_code=400)
        try:
            token, name = str(body.get("token", "")), str(body.get("fault", ""))
            retry_after = None if body.get("retry_after") is None else int(body["retry_after"])
            if name in MEDIA_FAULTS:
                self.state.media.inject(
                    token, name, int(body.get("times", 1)), retry_after=retry_after
                )
            else:
                self.state.inject(
                    token,
                    name,
                    int(body.get("times", 1)),
                    retry_after=retry_after,
                    after=int(body.get("after", 2)),
                    delay=float(body.get("delay", 1.0)),
                )
        except KeyError as exc:
            return JSONResponse(err(5, str(exc)), status_code=404)
        except (TypeError, ValueError) as exc:
            return JSONResponse(err(3, str(exc)), status_code=400)
        return Response(status_code=204)

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return Response(status_code=204)

    async def stats(self, request: Request) -> Response:
        return JSONResponse(self.state.stats())


def _validate_chat(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    message = body.get("message")
    if not isinstance(message, str) or not message:
        return "message: must be a non-empty string"
    if body.get("modeId") not in MODES:
        return f"modeId: unknown mode {body.get('modeId')!r}"
    return None


async def _json_or_none(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = getattr(exc, "headers", None)
    return JSONResponse(err(5 if status == 404 else 3, str(exc)), status, headers=headers)


def create_app(
    state: SimState | None = None,
    *,
    constants: StatsigConstants = DEMO_CONSTANTS,
    accept_synthetic_statsig: bool = False,
    statsig_window_s: int = 300,
    token_delay: float = 0.0,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the simulator. ``clock`` drives statsig checks/signing and timestamps; quotas use
    ``state.clock`` (a new state gets ``clock``)."""
    sim_state = state if state is not None else SimState(clock=clock)
    sim = _Simulator(
        sim_state, constants, accept_synthetic_statsig, statsig_window_s, token_delay, clock
    )
    install_log_filter()
    imagine = ImagineSocket(sim_state, clock)
    gateway = GatewaySocket(sim_state, clock, token_delay)
    routes = [
        Route(CHAT_PATH, sim.chat, methods=["POST"]),
        Route(RATE_LIMITS_PATH, sim.rate_limits, methods=["POST"]),
        Route(UPLOAD_PATH, sim.upload, methods=["POST"]),
        Route(POST_CREATE_PATH, sim.media.post_create, methods=["POST"]),
        Route(QUOTA_INFO_PATH, sim.media.quota_info, methods=["POST"]),
        Route("/assets/{path:path}", sim.media.asset, methods=["GET"]),
        Route("/imagine-public/images/{name}", sim.media.public_image, methods=["GET"]),
        WebSocketRoute(IMAGINE_PATH, imagine.endpoint),
        WebSocketRoute(MGW_PATH, gateway.endpoint),
        Route(SESSION_PATH, gateway.session, methods=["GET"]),
        Route("/__sim/files/{name}", uploads.serve_file, methods=["GET"]),
        Route("/__sim/redirect", uploads.redirect, methods=["GET"]),
        Route("/__sim/sign", sim.sign, methods=["POST"]),
        Route("/__sim/faults", sim.faults, methods=["POST"]),
        Route("/__sim/gateway", gateway.control, methods=["POST"]),
        Route("/__sim/reset", sim.reset, methods=["POST"]),
        Route("/__sim/stats", sim.stats, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.sim = sim_state
    return app
