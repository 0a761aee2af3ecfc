"""The imagine WebSocket ``GET /ws/imagine/listen`` (docs/grok-protocol.md §6.1).

Handshake: the account's ``sso``/``sso-rw`` cookies (no statsig). Refusals are real HTTP
responses to the upgrade (ASGI ``websocket.http.response``, which uvicorn supports): 401 with
the invalid-credentials JSON for bad cookies or the ``ws_401`` fault; 429 with ``Retry-After``
for the ``ws_429`` fault or when the account's ``image`` quota is used up. A server without
that extension would get a close before accept (a plain 403) instead.

Per round the client sends a reset item and then an ``input_text`` request. The simulator
answers ``min(num_generations, per_round)`` slots (``per_round`` is
``SimMedia.images_per_round``, default 6, or 4 with ``enable_pro``) in phases: every slot's
``start_stage``, then every preview ``image`` (50 %), every final ``image`` (100 %, omitted when
moderated) and every ``completed``, so a client may end the round once all started slots have
completed. Each final image spends one ``image`` (``imagePro``) query and is
registered in ``SimMedia`` (downloadable at its URL). A round is also capped by the remaining
quota; a round with none left answers an error frame (``err_code: "rate_limit_exceeded"``).
Frames that are not a valid reset/request, or a request without a reset before it, get an
error frame (``err_code: "invalid_request"``); the socket stays open either way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from .media_bytes import image_bytes
from .state import RecordedRequest, SimState
from .wire import INVALID_CREDENTIALS, TOO_MANY, refuse, sso_of

__all__ = [
    "ASSETS_BASE",
    "IMAGINE_PATH",
    "PUBLIC_BASE",
    "ImagineRequest",
    "ImagineSocket",
    "dims",
    "parse_item",
]

IMAGINE_PATH = "/ws/imagine/listen"
ASSETS_BASE = "https://assets.grok.com/"
PUBLIC_BASE = "https://imagine-public.x.ai/imagine-public/images/"
_SIZES = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "4:3": (1152, 864),
    "3:4": (864, 1152),
    "2:1": (1440, 720),
    "1:2": (720, 1440),
}


def dims(aspect_ratio: str | None) -> tuple[int, int]:
    """Nominal width×height for an aspect ratio ("a:b"; unknown or ``auto`` → 1024×1024)."""
    if aspect_ratio in _SIZES:
        return _SIZES[aspect_ratio]
    try:
        a, b = (float(x) for x in (aspect_ratio or "").split(":"))
    except ValueError:
        return 1024, 1024
    if a <= 0 or b <= 0 or not 0.1 <= a / b <= 10:
        return 1024, 1024
    width = round((1024 * 1024 * a / b) ** 0.5 / 16) * 16
    return width, round(1024 * 1024 / width / 16) * 16


@dataclass(frozen=True)
class ImagineRequest:
    request_id: str
    prompt: str
    num_generations: int | None
    aspect_ratio: str
    enable_pro: bool


def parse_item(frame: Any) -> ImagineRequest | str | None:
    """A request item, ``"reset"``, or None when ``frame`` is neither."""
    if not isinstance(frame, dict) or frame.get("type") != "conversation.item.create":
        return None
    item = frame.get("item")
    content = item.get("content") if isinstance(item, dict) else None
    if not isinstance(content, list) or len(content) != 1 or not isinstance(content[0], dict):
        return None
    part = content[0]
    if part.get("type") == "reset":
        return "reset"
    props = part.get("properties", {})
    n = props.get("num_generations") if isinstance(props, dict) else None
    ok = (
        part.get("type") == "input_text"
        and isinstance(part.get("requestId"), str)
        and bool(part["requestId"])
        and isinstance(part.get("text"), str)
        and bool(part["text"].strip())
        and isinstance(props, dict)
        and isinstance(props.get("aspect_ratio", "2:3"), str)
        and isinstance(props.get("enable_pro", False), bool)
        and (n is None or (isinstance(n, int) and not isinstance(n, bool) and n >= 1))
    )
    if not ok:
        return None
    assert isinstance(props, dict)
    return ImagineRequest(
        part["requestId"],
        part["text"],
        n,
        props.get("aspect_ratio", "2:3"),
        props.get("enable_pro", False),
    )


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "err_code": code, "err_msg": message}


class ImagineSocket:
    """The WebSocket endpoint; ``endpoint`` is what a ``WebSocketRoute`` takes."""

    def __init__(self, state: SimState, clock: Callable[[], float]) -> None:
        self.state = state
        self.clock = clock

    def _refusal(self, websocket: WebSocket) -> Response | str:
        """The HTTP response refusing the handshake, or the account token."""
        cookie = websocket.cookies.get("sso")
        self.state.record(
            RecordedRequest(
                method="GET",
                path=IMAGINE_PATH,
                headers={k.lower(): v for k, v in websocket.headers.items()},
                body=None,
                token=cookie,
                statsig_ok=True,
                time=self.clock(),
                cookies=dict(websocket.cookies),
            )
        )
        token = sso_of(self.state, websocket.cookies)
        media = self.state.media
        if token is None:
            media.record("ws_connect", cookie, status=401)
            return JSONResponse(INVALID_CREDENTIALS, status_code=401)
        fault = media.take(token, "ws_connect")
        wait: int | None = None
        if fault is not None and fault.name == "ws_401":
            media.record("ws_connect", token, status=401, fault=fault.name)
            return JSONResponse(INVALID_CREDENTIALS, status_code=401)
        if fault is not None and fault.name == "ws_429":
            wait = fault.retry_after if fault.retry_after is not None else 60
        else:
            wait = media.retry_after(token, "image")
        if wait is not None:
            media.record("ws_connect", token, status=429, fault=fault.name if fault else None)
            return JSONResponse(TOO_MANY, status_code=429, headers={"retry-after": str(wait)})
        media.record("ws_connect", token, status=101)
        return token

    async def endpoint(self, websocket: WebSocket) -> None:
        refusal = self._refusal(websocket)
        if isinstance(refusal, Response):
            await refuse(websocket, refusal)
            return
        await websocket.accept()
        try:
            await self._serve(websocket, refusal)
        except (WebSocketDisconnect, WebSocketDisconnected):
            return

    async def _serve(self, websocket: WebSocket, token: str) -> None:
        reset = False
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                item = parse_item(json.loads(text)) if text is not None else None
            except ValueError:
                item = None
            if item is None:
                problem = "expected a conversation.item.create reset or input_text item"
                await websocket.send_json(_error("invalid_request", problem))
            elif item == "reset":
                reset = True
            elif not reset:
                problem = "a request must follow a reset item"
                await websocket.send_json(_error("invalid_request", problem))
            else:
                assert isinstance(item, ImagineRequest)
                reset = False
                await self._round(websocket, token, item)

    async def _round(self, websocket: WebSocket, token: str, request: ImagineRequest) -> None:
        media = self.state.media
        fault = media.take(token, "ws_round")
        media.record(
            "ws_round",
            token,
            request_id=request.request_id,
            prompt=request.prompt,
            num_generations=request.num_generations,
            aspect_ratio=request.aspect_ratio,
            enable_pro=request.enable_pro,
            fault=fault.name if fault else None,
        )
        if fault is not None and fault.name == "ws_error":
            await websocket.send_json(_error("internal", "Internal error (simulated)"))
            return
        kind = "imagePro" if request.enable_pro else "image"
        left = media.remaining(token, kind)
        if left is not None and left <= 0:
            problem = f"{kind} quota exhausted"
            await websocket.send_json(_error("rate_limit_exceeded", problem))
            return
        per_round = media.images_per_round or (4 if request.enable_pro else 6)
        slots = min(request.num_generations or per_round, per_round)
        if left is not None:
            slots = min(slots, left)
        width, height = dims(request.aspect_ratio)
        uid = self.state.accounts[token].user_id
        size = {"width": width, "height": height}
        public = media.public_urls
        ids = [media.new_id(token, "imagine", request.prompt, str(k)) for k in range(slots)]
        paths = [f"users/{uid}/generated/{image_id}/image.jpg" for image_id in ids]
        urls = [
            f"{PUBLIC_BASE}{image_id}.jpg" if public else ASSETS_BASE + path
            for image_id, path in zip(ids, paths, strict=True)
        ]
        moderated = [
            fault is not None
            and (fault.name == "moderate" or (fault.name == "moderate_some" and k == 0))
            for k in range(slots)
        ]
        # Every slot starts before any completes, so "all started slots completed" ends a round.
        for order, image_id in enumerate(ids):
            start = {"type": "json", "current_status": "start_stage", "image_id": image_id}
            await websocket.send_json({**start, "order": order, **size})
        for order, image_id in enumerate(ids):
            preview = image_bytes(image_id, width, height, preview=True)
            blob = base64.b64encode(preview).decode()
            await websocket.send_json(
                {"type": "image", "url": urls[order], "blob": blob, "percentage_complete": 50}
                | {"order": order, **size}
            )
        for order, image_id in enumerate(ids):
            if moderated[order]:
                continue
            data = image_bytes(image_id, width, height)
            media.add_image(token, image_id, paths[order], data)
            media.spend(token, [kind])
            blob = base64.b64encode(data).decode()
            await websocket.send_json(
                {"type": "image", "url": urls[order], "blob": blob, "percentage_complete": 100}
                | {"order": order, **size, "id": image_id}
            )
        for order, image_id in enumerate(ids):
            await websocket.send_json(
                {"type": "json", "current_status": "completed", "image_id": image_id}
                | {"moderated": moderated[order], "r_rated": False, "order": order}
            )
