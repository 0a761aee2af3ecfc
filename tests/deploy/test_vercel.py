"""``vercel.json``: every public route reaches a function that serves it, and each function's
entry imports on its own and builds nothing at import (the lazy wrapper: tests/api/test_lazy.py).

The routing is read the way Vercel reads legacy ``routes`` (first ``src`` match wins, anchored
with ``^...$``); the functions are driven in-process with httpx, unauthenticated, so a route that
exists answers 401 and a route that does not answers 404 ``unknown_url`` (or 405).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from grokgate.api.app import SURFACES, route_table
from grokgate.config import Settings
from tests.deploy.sam import load_file, requirement_names
from tests.support import API_KEY

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / "vercel.json").read_text())
HOBBY_MAX_DURATION = 300  # seconds; Pro allows 800
STREAMING = ("functions/chat/vercel_app.py", "functions/videos/vercel_app.py")
SAMPLE_PARAMS = {"model_id": "xai/grok-4"}  # ids may contain '/': the route is {model_id:path}


def _builds() -> dict[str, dict[str, Any]]:
    """Each function's entry file (relative to the repo) -> its build config."""
    return {b["src"]: b.get("config", {}) for b in CONFIG["builds"]}


def public_routes() -> list[tuple[str, str]]:
    """``(path, method)`` for every route of the full app as Vercel runs it (media in S3: local
    media cannot be shared across instances), ``/health`` included."""
    settings = Settings(_env_file=None, media="s3", media_bucket="b")  # type: ignore[call-arg]
    return sorted(route_table(SURFACES, settings))


def concrete(path: str) -> str:
    """A request path for a route path: each ``{param}`` filled with a sample value."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE_PARAMS.get(m.group(1), "x_1"), path)


def route_to_entry(path: str) -> str:
    """The entry file that vercel.json's ``routes`` send ``path`` to (first match wins)."""
    for route in CONFIG["routes"]:
        src = route["src"]
        src = src if src.startswith("^") else f"^{src}"
        src = src if src.endswith("$") else f"{src}$"
        if re.match(src, path):
            return str(route["dest"]).lstrip("/")
    raise AssertionError(f"no route in vercel.json matches {path}")


# vercel.json itself


def test_config_uses_one_routing_model() -> None:
    """Vercel refuses ``functions`` beside ``builds``, and ``routes`` beside ``rewrites`` & co.;
    a top-level ``functions`` map only matches files under ``api/`` (docs/serverless.md §4.1)."""
    assert "functions" not in CONFIG
    assert not {"rewrites", "redirects", "headers", "cleanUrls", "trailingSlash"} & set(CONFIG)
    assert CONFIG["builds"] and CONFIG["routes"]


@pytest.mark.parametrize("entry", sorted(_builds()))
def test_each_function_is_a_python_build_with_its_limits(entry: str) -> None:
    build = next(b for b in CONFIG["builds"] if b["src"] == entry)
    assert build["use"] == "@vercel/python"
    assert (ROOT / entry).is_file()
    config = build["config"]
    # the Python builder takes maxDuration only from config.functions, keyed by the entry
    limits = config["functions"][entry]
    assert 1 <= limits["maxDuration"] <= HOBBY_MAX_DURATION
    if entry in STREAMING:
        assert limits["maxDuration"] == HOBBY_MAX_DURATION
    assert "tests" in config["excludeFiles"]


def test_every_entry_module_is_built_and_routed() -> None:
    entries = {str(p.relative_to(ROOT)) for p in ROOT.glob("functions/*/vercel_app.py")}
    assert entries == set(_builds())
    routed = {str(r["dest"]).lstrip("/") for r in CONFIG["routes"]}
    assert routed == entries


@pytest.mark.parametrize(("path", "method"), public_routes())
def test_public_route_reaches_a_function_that_serves_it(
    settings_env: None, path: str, method: str
) -> None:
    url = concrete(path)
    entry = route_to_entry(url)
    assert entry in _builds(), f"{url} goes to {entry}, which is not a build"
    app = load_file(entry).app

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vercel.test") as c:
            return await c.request(method, url, json={} if method == "POST" else None)

    response = asyncio.run(call())
    code = response.json().get("error", {}).get("code") if response.status_code == 404 else None
    assert code != "unknown_url", f"{method} {url} is routed to {entry}, which has no such route"
    assert response.status_code != 405, f"{entry} does not serve {method} {url}"
    expected = 200 if path == "/health" else 401
    assert response.status_code == expected, f"{method} {url} -> {entry}: {response.text}"


def test_unknown_paths_get_an_openai_404_from_the_models_function(settings_env: None) -> None:
    entry = route_to_entry("/v1/no/such/thing")
    assert entry == "functions/models/vercel_app.py"

    async def call() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=load_file(entry).app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vercel.test") as c:
            keyed = await c.get("/v1/no/such/thing", headers={"authorization": f"Bearer {API_KEY}"})
            anonymous = await c.get("/v1/no/such/thing")
            return keyed, anonymous

    response, anonymous = asyncio.run(call())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"
    assert anonymous.status_code == 401  # the key is checked first, as OpenAI does


@pytest.mark.parametrize("entry", sorted(_builds()))
def test_entry_imports_alone_and_builds_nothing(entry: str, tmp_path: Path) -> None:
    """In a fresh interpreter, from a folder holding only the entry (grokgate comes from the
    installed package, as in Vercel's bundle), importing builds no app and imports no FastAPI."""
    copy = tmp_path / entry
    copy.parent.mkdir(parents=True)
    shutil.copy(ROOT / entry, copy)
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('entry', {str(copy)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps({'built': module.app.built, 'type': type(module.app).__name__,"
        " 'heavy': sorted({m.split('.')[0] for m in sys.modules}"
        " & {'fastapi', 'starlette', 'pydantic', 'httpx'})}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GROKGATE_"))}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"built": False, "type": "LazyApp", "heavy": []}


@pytest.mark.parametrize("entry", sorted(_builds()))
def test_entry_app_is_detected_as_asgi(entry: str) -> None:
    """What Vercel's Python runtime checks: an async ``__call__`` taking (scope, receive, send)."""
    app = load_file(entry).app
    assert inspect.iscoroutinefunction(app.__call__)
    params = inspect.signature(app).parameters.values()
    required = [p for p in params if p.default is inspect.Parameter.empty]
    assert [p.name for p in required] == ["scope", "receive", "send"]


def test_vercel_installs_what_the_cloud_stores_need() -> None:
    """Vercel installs with ``uv sync`` (no extras): its default group carries the aws extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    aws = requirement_names(project["project"]["optional-dependencies"]["aws"])
    assert project["tool"]["uv"]["default-groups"] == ["vercel"]
    assert aws <= requirement_names(project["dependency-groups"]["vercel"])
