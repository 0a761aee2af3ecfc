"""Support for the edge tests: the small Starlette backend behind the edge, and clients."""

from __future__ import annotations

import asyncio
import hashlib
import random
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
from curl_cffi.requests import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from grokgate.simulator.edge import ConnectionRecord, EdgeThread, RequestRecord

BLOB = random.Random(1234).randbytes(5 * 1024 * 1024)
STREAM_CHUNKS = 5
STREAM_GAP = 0.12


async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "headers": [[k.decode(), v.decode()] for k, v in request.headers.raw],
        }
    )


async def _stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for i in range(STREAM_CHUNKS):
            yield f"tick {i}\n".encode()
            await asyncio.sleep(STREAM_GAP)

    return StreamingResponse(body(), media_type="text/plain")


async def _blob(request: Request) -> Response:
    return Response(BLOB, media_type="application/octet-stream")


async def _ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"client_ip": websocket.headers.get("x-edge-client-ip")})
    try:
        while True:
            await websocket.send_text("echo:" + await websocket.receive_text())
    except WebSocketDisconnect:
        pass


BACKEND = Starlette(
    routes=[
        Route("/echo", _echo, methods=["GET", "POST", "PUT"]),
        Route("/stream", _stream),
        Route("/blob", _blob),
        WebSocketRoute("/ws", _ws),
    ]
)


def chrome(edge: Any, profile: str = "chrome146", **options: Any) -> AsyncSession[Any]:
    """A curl_cffi session impersonating Chrome that trusts the edge's CA."""
    return AsyncSession(impersonate=profile, verify=edge.ca_file, timeout=5, **options)


def python_client(edge: Any, http2: bool) -> httpx.AsyncClient:
    """httpx over Python's ``ssl`` (the contrast: not Chrome)."""
    ctx = ssl.create_default_context(cafile=edge.ca_file)
    return httpx.AsyncClient(http2=http2, verify=ctx, timeout=5)


def requests_to(edge: EdgeThread, path: str) -> list[tuple[ConnectionRecord, RequestRecord]]:
    return [(c, r) for c in edge.connections for r in c.requests if r.path == path]


def only_connection(edge: EdgeThread) -> ConnectionRecord:
    done = [c for c in edge.connections if c.hello is not None]
    assert len(done) == 1, [c.summary() for c in edge.connections]
    return done[0]
