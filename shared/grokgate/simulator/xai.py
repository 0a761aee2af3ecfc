"""A faithful fake of the official xAI API (``https://api.x.ai``) for tests, benches and demo
mode: ``create_xai_app(state)`` is a Starlette app; serve it with
:class:`~grokgate.simulator.server.ServerThread` (HTTP/1.1) or
:class:`~grokgate.simulator.xai_server.Http2ServerThread` (HTTP/2).

Endpoints (all ``/v1/*`` need ``Authorization: Bearer <key>`` with a key of the state;
``/v1/messages`` also takes ``x-api-key``; else 401 ``invalid_api_key`` with a masked key):

* ``GET /v1/models``, ``GET /v1/models/{id}`` — OpenAI model list / model (``state.models``).
* ``POST /v1/chat/completions`` — :mod:`.xai_chat`; ``POST /v1/responses`` —
  :mod:`.xai_responses`; ``POST /v1/messages`` (Anthropic) — :mod:`.xai_messages`. The answer
  rule (echo, reasoning, tools, stop, max tokens, usage) is in :mod:`.xai_answers`.
* ``POST /v1/images/generations`` — ``{"created", "data": [{"url"|"b64_json",
  "revised_prompt"}]}``; a URL points at ``GET /__xai/images/{name}.png`` (a deterministic PNG).

Errors use OpenAI's envelope ``{"error": {"message", "type", "code"}}`` (Anthropic's
``{"type": "error", "error": {"type", "message"}}`` on ``/v1/messages``): 400 ``invalid_json``
(body is not JSON) or ``invalid_request`` (validation, with ``param``), 404
``model_not_found``, 400 ``model_not_supported`` (an image model for text, or the reverse).
Order of checks: record, auth, JSON, validation, model, then one queued fault (see
:mod:`.xai_state`), then the answer.

Control endpoints (no auth, not recorded): ``POST /__xai/faults`` (``{"key", "kind",
"retry_after", "times", "after", "delay"}`` → 204; 400 bad kind, 404 unknown key),
``POST /__xai/keys`` (``{"key"}`` → 204), ``POST /__xai/reset`` (→ 204) and
``GET /__xai/requests`` (``{"requests": [record, ...]}``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .media_bytes import png_bytes
from .xai_answers import Answer, ToolSpec, Turn, plan_answer
from .xai_chat import ChatRequest, chat_events, chat_json, chat_tool, chat_turns
from .xai_messages import (
    MessagesRequest,
    messages_events,
    messages_json,
    messages_tool,
    messages_turns,
)
from .xai_responses import (
    ResponsesRequest,
    responses_events,
    responses_json,
    responses_tool,
    responses_turns,
)
from .xai_state import IMAGE_MODELS, XaiRecord, XaiState, mask_key
from .xai_wire import (
    FAULT_ERRORS,
    Flavor,
    SseEvent,
    TextRequest,
    cut_json,
    error_response,
    fault_response,
    install_cut_filter,
    invalid_request,
    json_response,
    parse,
    sse,
)

__all__ = ["IMAGE_SIZE", "create_xai_app"]

IMAGE_SIZE = 64  # the PNG served for a generated image is IMAGE_SIZE × IMAGE_SIZE
_IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.png")
_CREATED = 1_735_689_600  # 2025-01-01, the "created" of every model


# (turns, selected tool, token limit, stop strings) of a text request
_Plan = tuple[list[Turn], ToolSpec | None, int | None, list[str]]


class ImagesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt: str = Field(min_length=1)
    model: str = "grok-2-image-1212"
    n: int = Field(1, ge=1, le=10)
    response_format: Literal["url", "b64_json"] = "url"


def _api_key(request: Request, flavor: Flavor) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if flavor == "anthropic":
        return request.headers.get("x-api-key") or None
    return None


class _XaiFake:
    def __init__(self, state: XaiState, token_delay: float) -> None:
        self.state = state
        self.token_delay = token_delay

    # shared --------------------------------------------------------------------------------
    @staticmethod
    def _done(record: XaiRecord, response: Response) -> Response:
        record.status = response.status_code
        return response

    async def _prelude(
        self, request: Request, flavor: Flavor
    ) -> tuple[XaiRecord, str, Any] | Response:
        raw = await request.body()
        body: Any = None
        problem: str | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                problem = f"Invalid JSON body: {exc}"
        key = _api_key(request, flavor)
        record = self.state.record(
            XaiRecord(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                key=key,
                http_version=str(request.scope.get("http_version", "")),
                started_at=time.monotonic(),
            )
        )
        if key is None or not self.state.knows(key):
            message = (
                "No API key provided. Pass it as 'Authorization: Bearer <key>'."
                if key is None
                else f"Incorrect API key provided: {mask_key(key)}(masked)."
            )
            return self._done(record, error_response(flavor, 401, message, "invalid_api_key"))
        if problem is not None:
            return self._done(record, error_response(flavor, 400, problem, "invalid_json"))
        return record, key, body

    def _check_model(self, flavor: Flavor, model: str, *, image: bool) -> Response | None:
        if model not in self.state.models:
            message = f"The model {model} does not exist or your team does not have access to it."
            return error_response(flavor, 404, message, "model_not_found")
        if (model in IMAGE_MODELS) != image:
            kind = "image generation" if image else "text generation"
            message = f"The model {model} does not support {kind}."
            return error_response(flavor, 400, message, "model_not_supported", param="model")
        return None

    async def _serve(
        self,
        record: XaiRecord,
        key: str,
        flavor: Flavor,
        payload: Callable[[], Any],
        events: Callable[[], list[SseEvent]] | None = None,
    ) -> Response:
        """Apply the next queued fault of ``key``, then answer (``events`` → SSE)."""
        fault = self.state.take_fault(key)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault is not None and fault.kind in FAULT_ERRORS:
            return self._done(record, fault_response(flavor, fault))
        cut = fault is not None and fault.kind == "cut"
        record.status = 200
        if events is not None:
            return sse(
                events(),
                state=self.state,
                record=record,
                token_delay=self.token_delay,
                cut_after=fault.after if cut and fault is not None else None,
            )
        return cut_json(payload()) if cut else json_response(payload())

    async def _text(
        self,
        request: Request,
        flavor: Flavor,
        model_type: type[TextRequest],
        plan: Callable[[Any], _Plan],
        render: Callable[[Any, Answer], Any],
        stream: Callable[[Any, Answer], list[SseEvent]],
    ) -> Response:
        pre = await self._prelude(request, flavor)
        if isinstance(pre, Response):
            return pre
        record, key, body = pre
        req = parse(model_type, body)
        if isinstance(req, str):
            return self._done(record, invalid_request(flavor, req))
        bad = self._check_model(flavor, req.model, image=False)
        if bad is not None:
            return self._done(record, bad)
        turns, tool, limit, stops = plan(req)
        prefix = "toolu_" if flavor == "anthropic" else "call_"
        answer = plan_answer(
            req.model, turns, tool=tool, max_tokens=limit, stops=stops, call_prefix=prefix
        )
        events = (lambda: stream(req, answer)) if req.stream else None
        return await self._serve(record, key, flavor, lambda: render(req, answer), events)

    # endpoints -----------------------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        def plan(req: ChatRequest) -> _Plan:
            return chat_turns(req), chat_tool(req), req.limit, req.stops

        return await self._text(request, "openai", ChatRequest, plan, chat_json, chat_events)

    async def responses(self, request: Request) -> Response:
        def plan(req: ResponsesRequest) -> _Plan:
            return responses_turns(req), responses_tool(req), req.max_output_tokens, []

        return await self._text(
            request, "openai", ResponsesRequest, plan, responses_json, responses_events
        )

    async def messages(self, request: Request) -> Response:
        def plan(req: MessagesRequest) -> _Plan:
            return messages_turns(req), messages_tool(req), req.max_tokens, req.stop_sequences or []

        return await self._text(
            request, "anthropic", MessagesRequest, plan, messages_json, messages_events
        )

    async def models(self, request: Request) -> Response:
        pre = await self._prelude(request, "openai")
        if isinstance(pre, Response):
            return pre
        record, key, _ = pre
        wanted = request.path_params.get("model")
        if wanted is not None and wanted not in self.state.models:
            message = f"The model {wanted} does not exist or your team does not have access to it."
            return self._done(record, error_response("openai", 404, message, "model_not_found"))

        def entry(model: str) -> dict[str, Any]:
            return {"id": model, "object": "model", "created": _CREATED, "owned_by": "xai"}

        if wanted is not None:
            return await self._serve(record, key, "openai", lambda: entry(wanted))
        listing = {"object": "list", "data": [entry(m) for m in self.state.models]}
        return await self._serve(record, key, "openai", lambda: listing)

    async def images(self, request: Request) -> Response:
        pre = await self._prelude(request, "openai")
        if isinstance(pre, Response):
            return pre
        record, key, body = pre
        req = parse(ImagesRequest, body)
        if isinstance(req, str):
            return self._done(record, invalid_request("openai", req))
        bad = self._check_model("openai", req.model, image=True)
        if bad is not None:
            return self._done(record, bad)
        base = str(request.base_url).rstrip("/")

        def payload() -> dict[str, Any]:
            data = []
            for i in range(req.n):
                name = hashlib.sha256(f"{req.prompt}\0{i}".encode()).hexdigest()[:16] + ".png"
                item: dict[str, Any] = {"revised_prompt": req.prompt}
                if req.response_format == "b64_json":
                    png = png_bytes(name[:-4], IMAGE_SIZE, IMAGE_SIZE)
                    item["b64_json"] = base64.b64encode(png).decode()
                else:
                    item["url"] = f"{base}/__xai/images/{name}"
                data.append(item)
            return {"created": int(time.time()), "data": data}

        return await self._serve(record, key, "openai", payload)

    # control -------------------------------------------------------------------------------
    async def image_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not _IMAGE_NAME.fullmatch(name):
            return error_response("openai", 404, f"no image {name}", "not_found")
        return Response(png_bytes(name[:-4], IMAGE_SIZE, IMAGE_SIZE), media_type="image/png")

    async def faults(self, request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return error_response("openai", 400, "body must be a JSON object", "invalid_json")
        try:
            retry_after = body.get("retry_after")
            self.state.inject(
                str(body.get("key", "")),
                str(body.get("kind", "")),
                retry_after=None if retry_after is None else int(retry_after),
                times=int(body.get("times", 1)),
                after=int(body.get("after", 0)),
                delay=float(body.get("delay", 1.0)),
            )
        except KeyError as exc:
            return error_response("openai", 404, str(exc.args[0]), "not_found")
        except (TypeError, ValueError) as exc:
            return error_response("openai", 400, str(exc), "invalid_request")
        return Response(status_code=204)

    async def keys(self, request: Request) -> Response:
        body = await _json_object(request)
        key = body.get("key") if body is not None else None
        if not isinstance(key, str) or not key:
            return error_response("openai", 400, "key: required string", "invalid_request")
        self.state.add_key(key)
        return Response(status_code=204)

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return Response(status_code=204)

    async def requests(self, request: Request) -> Response:
        return JSONResponse({"requests": [r.as_json() for r in list(self.state.requests)]})


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    flavor: Flavor = "anthropic" if request.url.path == "/v1/messages" else "openai"
    codes = {404: "not_found", 405: "method_not_allowed"}
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal server error."
    type_ = "server_error" if status >= 500 else "invalid_request_error"
    response = error_response(
        flavor, status, str(detail), codes.get(status, "internal_error"), type_=type_
    )
    headers = getattr(exc, "headers", None) or {}
    response.headers.update(headers)
    return response


def create_xai_app(state: XaiState | None = None, *, token_delay: float = 0.0) -> Starlette:
    """The xAI fake over ``state`` (a new, key-less one by default); ``token_delay`` seconds
    pass before each streamed content event."""
    xai_state = state if state is not None else XaiState()
    fake = _XaiFake(xai_state, token_delay)
    install_cut_filter()
    routes = [
        Route("/v1/models", fake.models, methods=["GET"]),
        Route("/v1/models/{model:path}", fake.models, methods=["GET"]),
        Route("/v1/chat/completions", fake.chat, methods=["POST"]),
        Route("/v1/responses", fake.responses, methods=["POST"]),
        Route("/v1/messages", fake.messages, methods=["POST"]),
        Route("/v1/images/generations", fake.images, methods=["POST"]),
        Route("/__xai/images/{name}", fake.image_file, methods=["GET"]),
        Route("/__xai/faults", fake.faults, methods=["POST"]),
        Route("/__xai/keys", fake.keys, methods=["POST"]),
        Route("/__xai/reset", fake.reset, methods=["POST"]),
        Route("/__xai/requests", fake.requests, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.xai = xai_state
    return app
