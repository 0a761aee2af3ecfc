"""What ``vercel build`` made of ``vercel.json``: each function's ``.vc-config.json`` carries
the manifest's ``maxDuration`` and ``memory`` and streams its response (docs/serverless.md §4.1).

Runs only on a build: ``GROKGATE_VERCEL_OUTPUT`` names the ``.vercel/output`` folder, which
``bash .ci/vercel-build`` makes (it needs the Vercel CLI from npm, so CI without a network skips
this; ``tests/deploy/test_manifest.py`` checks ``vercel.json`` itself every run)::

    bash .ci/vercel-build /tmp/vercel
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from grokgate.manifest import FUNCTIONS, FunctionSpec

OUTPUT_ENV = "GROKGATE_VERCEL_OUTPUT"
pytestmark = pytest.mark.skipif(
    not os.environ.get(OUTPUT_ENV), reason=f"{OUTPUT_ENV} names no `vercel build` output"
)


def _output() -> Path:
    return Path(os.environ[OUTPUT_ENV])


def _vc_config(spec: FunctionSpec) -> dict[str, Any]:
    folder = _output() / "functions" / f"{spec.vercel_entry}.func"
    doc: dict[str, Any] = json.loads((folder / ".vc-config.json").read_text())
    return doc


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_each_function_is_built_with_its_limits_and_streams(spec: FunctionSpec) -> None:
    config = _vc_config(spec)
    assert config["runtime"] == "python3.12"
    assert config["maxDuration"] == spec.vercel_max_duration
    assert config["memory"] == spec.vercel_memory
    assert config["supportsResponseStreaming"] is True  # ASGI answers go out as they are made
    files = config.get("filePathMap", {})
    assert not [f for f in files if f.startswith(("tests/", "bench/", "shared/"))]
    assert any(f.startswith("_vendor/grokgate/") for f in files)  # installed by uv sync


def test_the_built_routes_are_vercel_json_s() -> None:
    config = json.loads((_output() / "config.json").read_text())
    dests = {r["dest"].lstrip("/") for r in config["routes"] if "dest" in r}
    assert dests == {spec.vercel_entry for spec in FUNCTIONS}
    (catch_all,) = [s for s in FUNCTIONS if s.catch_all]
    last = config["routes"][-1]
    assert re.fullmatch(r"\^?/\(\.\*\)\$?", last["src"]) and last["dest"].lstrip("/") == (
        catch_all.vercel_entry
    )
