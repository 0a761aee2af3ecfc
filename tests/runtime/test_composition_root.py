"""The composition root lives in ``grokgate.runtime``, outside the API package, and is cheap
to import; settings defaults are stated once (config.py); AWS clients are built only by the
store and runner modules; a runtime opens only the stores its function's manifest names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import grokgate
from grokgate.config import Settings

PACKAGE = Path(grokgate.__file__).resolve().parent
# where a boto3 client may be built: the stores, the video job runner, the Secrets Manager /
# SSM settings source, and the one helper they all call
AWS_CLIENT_MODULES = {"aws.py", "cloud_secrets.py", "core/media/runners.py"}
AWS_CLIENT_CALLS = {"client", "boto3_client", "lambda_client", "s3_client", "dynamodb_client"}


def modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def test_the_api_package_has_no_composition_root() -> None:
    assert not list((PACKAGE / "api").glob("runtime*.py"))
    assert (PACKAGE / "runtime" / "__init__.py").is_file()


def test_importing_the_runtime_loads_no_web_framework_or_http_client() -> None:
    code = (
        "import sys, grokgate.runtime\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'httpx', 'curl_cffi', 'boto3', 'botocore', 'mangum'})\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_no_double_checked_locking_outside_cached() -> None:
    """Every lazily built piece goes through ``cached``: no hand-written ``async with
    self._lock`` around a build in the composition root."""
    found = [
        name
        for name, tree in modules()
        # the root, where it is and was; cached.py holds the one lock
        if name.startswith(("runtime/", "api/runtime")) and name != "runtime/cached.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncWith)
    ]
    assert found == []


def test_settings_defaults_are_stated_only_in_config() -> None:
    """No ``getattr(settings, "field", default)``: a second default that can drift from
    config.py's (and hides a misspelt field)."""
    fields = set(Settings.model_fields) | {
        name for name, value in vars(Settings).items() if isinstance(value, property)
    }
    found = [
        f"{name}:{node.lineno} {ast.unparse(node)}"
        for name, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and call_name(node) == "getattr"
        and len(node.args) == 3
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value in fields
    ]
    assert found == []


def test_aws_clients_are_built_only_by_the_store_and_runner_modules() -> None:
    found = [
        f"{name}:{node.lineno} {ast.unparse(node.func)}"
        for name, tree in modules()
        if not (name.startswith("stores/") or name in AWS_CLIENT_MODULES)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and call_name(node) in AWS_CLIENT_CALLS
        and (call_name(node) != "client" or ast.unparse(node.func) == "boto3.client")
    ]
    assert found == []


async def test_a_runtime_opens_only_the_stores_it_is_given(tmp_path: Path) -> None:
    from grokgate.runtime import Runtime, UndeclaredStoreError

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    runtime = Runtime(settings, stores={"pool", "conversations"})
    try:
        await runtime.store()
        await runtime.conversation_store()
        with pytest.raises(UndeclaredStoreError, match="media store"):
            await runtime.media_store()
        with pytest.raises(UndeclaredStoreError, match="jobs store"):
            await runtime.job_store()
    finally:
        await runtime.aclose()
    with pytest.raises(ValueError, match="unknown store"):
        Runtime(settings, stores={"pool", "files"})
    everything = Runtime(settings)  # no manifest: every store (the local server)
    assert (await everything.media_store()) is not None
    await everything.aclose()


def test_each_function_app_opens_only_the_stores_its_manifest_names(tmp_path: Path) -> None:
    from grokgate.api.app import SURFACES, create_app
    from grokgate.manifest import FUNCTIONS
    from grokgate.runtime import STORES

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    for spec in FUNCTIONS:
        app = create_app(spec.surfaces, settings=settings)
        assert app.state.runtime.stores == {str(store) for store in spec.stores}, spec.name
    assert create_app(SURFACES, settings=settings).state.runtime.stores == STORES
