"""The chat function started the way AWS Lambda Web Adapter starts it: the template's handler
(``run.sh``) with the function's environment, readiness polled on the template's path until a
status the template calls healthy, then requests on the adapter's port (docs/serverless.md §1)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.deploy.sam import ROOT, template
from tests.support import ACCOUNTS, API_KEY, free_port


def healthy(status: int, spec: str) -> bool:
    """LWA's AWS_LWA_READINESS_CHECK_HEALTHY_STATUS: codes and ranges, comma-separated."""
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False


@contextmanager
def run_chat_function(env: dict[str, str]) -> Iterator[str]:
    """Start the chat function with ``env`` (its environment as deployed); yields its base URL.
    On the way out, checks that no account token nor the client key reached its logs."""
    env = dict(env)
    wrapper = env.pop("AWS_LAMBDA_EXEC_WRAPPER")  # the adapter itself, which this plays
    assert wrapper == "/opt/bootstrap" and env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    port = free_port()
    env["AWS_LWA_PORT"] = str(port)  # the template's 8080 may be taken on a test machine
    env["PYTHONPATH"] = str(ROOT / "shared")  # the layer's /opt/python
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"  # python is the venv's
    handler = template()["Resources"]["ChatFunction"]["Properties"]["Handler"]
    proc = subprocess.Popen(
        ["sh", str(ROOT / "functions/chat" / handler)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        ready = f"{base}{env['AWS_LWA_READINESS_CHECK_PATH']}"
        while True:  # the adapter's readiness check, with the template's settings
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "never became ready"
            try:
                status = httpx.get(ready, timeout=1).status_code
                if healthy(status, env["AWS_LWA_READINESS_CHECK_HEALTHY_STATUS"]):
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        for _, token in ACCOUNTS:
            assert token not in out
        assert API_KEY not in out
