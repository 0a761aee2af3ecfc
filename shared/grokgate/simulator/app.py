"""The grok.com simulator as a Starlette app (see ``create_app``).

Fault notes: ``cut`` raises :class:`SimulatedCut` inside the body iterator after ``after``
frames, so uvicorn closes the socket mid-chunked-body (an httpx client sees
``RemoteProtocolError``); the matching uvicorn error log is filtered out. ``truncate`` ends the
same stream cleanly (EOF without ``modelResponse``/``finalMetadata``). Both consume quota, as a
normal answer does; ``slow`` sleeps ``delay`` seconds and then answers normally.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import uploads
from .answers import answer_frames, conversation_frame, stream_error_frame
from .state import (
    CHAT_PATH,
    MODES,
    RATE_LIMITS_PATH,
    UPLOAD_PATH,
    InjectedFault,
    RecordedRequest,
    SimState,
    SimUpload,
)
from .statsig import DEMO_CONSTANTS, StatsigConstants, sign, verify

__all__ = ["SimulatedCut", "cf_bm_for", "create_app"]

_INVALID = object()

CF_CHALLENGE_HTML = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper">'
    "Enable JavaScript and cookies to continue</div><script>window._cf_chl_opt={cType:"
    "'managed'};</script><script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/"
    'v1?ray=sim"></script></body></html>'
)
BAD_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>cloudflare</center></body></html>"
)


def _err(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": []}}


INVALID_CREDENTIALS = _err(
    16, "Failed to look up session ID. [WKE=unauthorized:invalid-credentials]"
)
ANTI_BOT = _err(7, "Request rejected by anti-bot rules.")
BLOCKED = _err(7, "User is blocked: Bot abuse - free tier account [WKE=unauthorized:blocked-user]")
TOO_MANY = _err(8, "Too many requests")
_HTTP_FAULTS: dict[str, tuple[int, dict[str, Any] | str]] = {
    "401": (401, INVALID_CREDENTIALS),
    "403_cf": (403, CF_CHALLENGE_HTML),
    "403_antibot": (403, ANTI_BOT),
    "403_blocked": (403, BLOCKED),
    "429": (429, TOO_MANY),
    "500": (500, _err(13, "Failed to send request.")),
    "502": (502, BAD_GATEWAY_HTML),
    "503": (503, _err(14, "Service temporarily unavailable.")),
}


class SimulatedCut(Exception):
    """Raised inside a chat stream to drop the connection uncleanly (fault ``cut``)."""


class _CutLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        stack = [exc]
        while stack:
            item = stack.pop()
            if isinstance(item, SimulatedCut):
                return False
            if isinstance(item, BaseExceptionGroup):
                stack.extend(item.exceptions)
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _CutLogFilter) for f in logger.filters):
        logger.addFilter(_CutLogFilter())


def _line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


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
            self.constants,
            self.clock(),
            window_s=self.window_s,
            accept_synthetic=self.accept_synthetic,
        )
        self.state.record(
            RecordedRequest(
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
        )
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
        problem = _validate_chat(body)
        if problem:
            return JSONResponse(_err(3, problem), status_code=400)
        files = self._attached(token, body)
        if isinstance(files, str):
            return JSONResponse(_err(3, files), status_code=400)
        message: str = body["message"]
        mode: str = body["modeId"]
        fault = self.state.take_fault(token)
        if fault is not None and fault.name == "slow":
            await asyncio.sleep(fault.delay)
        elif fault is not None and fault.name in _HTTP_FAULTS:
            return _http_fault(fault)
        now = _iso(self.clock())
        head = conversation_frame(str(uuid.uuid4()), now)
        if fault is not None and fault.name == "inband_error":
            return self._stream([head, {"error": {"code": 8, "message": "rate limited"}}])
        if fault is not None and fault.name == "inband_response_error":
            text = "ResourceExhausted: perf_based_admission_controller"
            return self._stream([head, stream_error_frame(text)])
        if not self.state.accounts[token].can_use(mode):
            text = "Model not available for this account"
            return self._stream([head, stream_error_frame(text, model_not_available=True)])
        retry_after = self.state.consume(token, mode)
        if retry_after is not None:
            return JSONResponse(TOO_MANY, 429, headers={"retry-after": str(retry_after)})
        frames = answer_frames(
            message,
            mode,
            user_response_id=str(uuid.uuid4()),
            response_id=str(uuid.uuid4()),
            create_time=now,
            end_time=_iso(self.clock()),
            files=files,
        )
        if fault is not None and fault.name in ("cut", "truncate"):
            clean = fault.name == "truncate"
            return self._stream([head, *frames], stop_after=fault.after, clean=clean)
        return self._stream([head, *frames])

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

    def _stream(
        self, frames: list[dict[str, Any]], *, stop_after: int | None = None, clean: bool = True
    ) -> StreamingResponse:
        delay = self.token_delay

        async def body() -> AsyncIterator[bytes]:
            for sent, frame in enumerate(frames):
                if stop_after is not None and sent >= stop_after:
                    if clean:
                        return
                    raise SimulatedCut(f"simulated connection cut after {sent} frames")
                if delay > 0 and "token" in frame.get("result", {}).get("response", {}):
                    await asyncio.sleep(delay)
                yield _line(frame)

        return StreamingResponse(body(), media_type="application/json")

    # rate limits ---------------------------------------------------------------------------
    async def rate_limits(self, request: Request) -> Response:
        pre = await self._prelude(request, RATE_LIMITS_PATH)
        if isinstance(pre, Response):
            return pre
        token, body = pre
        name = body.get("modelName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return JSONResponse(_err(3, "modelName: must be a non-empty string"), 400)
        window, remaining, total = self.state.quota(token, name)
        return JSONResponse(
            {
                "windowSizeSeconds": window,
                "remainingQueries": remaining,
                "totalQueries": total,
                "lowEffortRateLimits": None,
                "highEffortRateLimits": None,
            }
        )

    # control endpoints ---------------------------------------------------------------------
    async def sign(self, request: Request) -> Response:
        body = await _json_or_none(request)
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            return JSONResponse(_err(3, "path: required string"), status_code=400)
        method = body.get("method") or "POST"
        if not isinstance(method, str):
            return JSONResponse(_err(3, "method: must be a string"), status_code=400)
        value = sign(method, body["path"], self.constants, self.clock())
        return JSONResponse({"x-statsig-id": value})

    async def faults(self, request: Request) -> Response:
        body = await _json_or_none(request)
        if not isinstance(body, dict):
            return JSONResponse(_err(3, "body must be a JSON object"), status_code=400)
        try:
            self.state.inject(
                str(body.get("token", "")),
                str(body.get("fault", "")),
                int(body.get("times", 1)),
                retry_after=None if body.get("retry_after") is None else int(body["retry_after"]),
                after=int(body.get("after", 2)),
                delay=float(body.get("delay", 1.0)),
            )
        except KeyError as exc:
            return JSONResponse(_err(5, str(exc)), status_code=404)
        except (TypeError, ValueError) as exc:
            return JSONResponse(_err(3, str(exc)), status_code=400)
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


def _http_fault(fault: InjectedFault) -> Response:
    status, payload = _HTTP_FAULTS[fault.name]
    headers: dict[str, str] = {}
    if fault.name == "403_cf":
        headers["cf-mitigated"] = "challenge"
    if fault.name == "429" and fault.retry_after is not None:
        headers["retry-after"] = str(fault.retry_after)
    if isinstance(payload, str):
        return HTMLResponse(payload, status_code=status, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


async def _json_or_none(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = getattr(exc, "headers", None)
    return JSONResponse(_err(5 if status == 404 else 3, str(exc)), status, headers=headers)


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
    _install_log_filter()
    routes = [
        Route(CHAT_PATH, sim.chat, methods=["POST"]),
        Route(RATE_LIMITS_PATH, sim.rate_limits, methods=["POST"]),
        Route(UPLOAD_PATH, sim.upload, methods=["POST"]),
        Route("/__sim/files/{name}", uploads.serve_file, methods=["GET"]),
        Route("/__sim/redirect", uploads.redirect, methods=["GET"]),
        Route("/__sim/sign", sim.sign, methods=["POST"]),
        Route("/__sim/faults", sim.faults, methods=["POST"]),
        Route("/__sim/reset", sim.reset, methods=["POST"]),
        Route("/__sim/stats", sim.stats, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.sim = sim_state
    return app
