"""Stand-ins for the Lambda service in tests: a host that runs one function's entry module in its
own interpreter (its environment as deployed, events in, results out), and a fake of Lambda's
Invoke API for the asynchronous video-job invocations."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
_HOST = Path(__file__).with_name("host.py")


class FunctionHost:
    """One warm Lambda execution environment: a fresh interpreter with ``env`` (as the template
    sets it) that imports the function's entry file and serves events from its ``handler``."""

    def __init__(self, entry: str, env: dict[str, str]) -> None:
        self.entry = ROOT / entry
        self.proc = subprocess.Popen(
            [sys.executable, str(_HOST), str(self.entry)],
            cwd=self.entry.parent,
            env={**env, "PYTHONPATH": str(ROOT / "shared")},  # the layer's /opt/python
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(event) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"{self.entry} died:\n{err}")
        answer: dict[str, Any] = json.loads(line)
        if "crash" in answer:
            raise AssertionError(f"{self.entry} raised:\n{answer['crash']}")
        return answer["result"]  # type: ignore[no-any-return]

    def close(self) -> str:
        """Stop the environment; returns what it wrote on stderr (its logs)."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self.proc.stderr.read() if self.proc.stderr else ""


class FakeLambda:
    """``POST /2015-03-31/functions/{name}/invocations``: records the call, answers 202, then
    runs the videos function's handler with the payload in a subprocess."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.calls: list[tuple[str, str, dict[str, object]]] = []
        self.runs: list[subprocess.CompletedProcess[str]] = []
        self.app = Starlette(
            routes=[
                Route("/2015-03-31/functions/{name}/invocations", self.invoke, methods=["POST"])
            ]
        )

    async def invoke(self, request: Request) -> Response:
        kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
        payload = json.loads(await request.body())
        self.calls.append((request.path_params["name"], kind, payload))
        if kind != "Event":
            return JSONResponse({"message": "only Event here"}, status_code=400)
        threading.Thread(target=self._run, args=(payload,), daemon=True).start()
        return Response(status_code=202)

    def _run(self, payload: dict[str, object]) -> None:
        """One asynchronous invocation: a fresh environment runs the event, then stops."""
        host = FunctionHost("functions/videos/handler.py", self.env)
        try:
            result, code = json.dumps(host.invoke(dict(payload))), 0
        except AssertionError as exc:  # the handler raised or its interpreter died
            result, code = str(exc), 1
        logs = host.close()
        self.runs.append(subprocess.CompletedProcess(host.proc.args, code, result, logs))
