"""Reading ``template.yaml`` the way SAM does: its routes, its functions' environment (intrinsics
resolved against a test deployment's names), and the CloudFormation SAM generates from it."""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import time
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from grokgate.manifest import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
# GROKGATE_TEST_TEMPLATE points the deploy tests at another template (an older commit's, say)
TEMPLATE = Path(os.environ.get("GROKGATE_TEST_TEMPLATE") or ROOT / "template.yaml")
STACK = "grokgate"
REGION = "us-east-1"
# the function, the entry module that Lambda enters, for every function (grokgate.manifest)
ENTRIES = {spec.logical_id: spec.lambda_entry for spec in FUNCTIONS}
CATCH_ALL = "/{proxy+}"


@cache
def _template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    parsed: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return parsed


def template() -> dict[str, Any]:
    """The template as parsed by SAM's own YAML loader (``!Ref`` becomes ``{"Ref": ...}``)."""
    return copy.deepcopy(_template())


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == kind}


def load_file(entry: str) -> ModuleType:
    """An entry module (a path under the repo), loaded from its file, fresh on each call."""
    path = ROOT / entry
    name = f"entry_{path.parent.name}_{path.stem}_{time.monotonic_ns()}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_entry(function: str) -> ModuleType:
    """The Lambda function's entry module, loaded from its file as Lambda would."""
    return load_file(ENTRIES[function])


def requirement_names(requirements: list[str]) -> set[str]:
    """The distribution names in requirement lines (``httpx[http2]>=0.27`` -> ``httpx``)."""
    return {
        re.split(r"[\[<>=!~ ;]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
        for line in requirements
        if line.strip() and not line.lstrip().startswith("#")
    }


def api_events(function: str) -> list[dict[str, Any]]:
    """The ``Api`` events of one function: their properties (Path, Method, ...)."""
    events = template()["Resources"][function]["Properties"].get("Events", {})
    return [e["Properties"] for e in events.values() if e["Type"] == "Api"]


def apigw_path(app_path: str) -> str:
    """A FastAPI route path as API Gateway writes it: ``{x:path}`` is the greedy ``{x+}``."""
    return re.sub(r"\{(\w+):path\}", r"{\1+}", app_path)


def resolve(value: Any, names: dict[str, str]) -> str:
    """One intrinsic (Ref, Sub, FindInMap) or literal, as a string; ``names`` gives what a
    resource's Ref stands for in this deployment (default: its logical id); parameters take
    their defaults."""
    tpl = _template()
    params = tpl.get("Parameters", {})
    pseudo = {"AWS::StackName": STACK, "AWS::Region": REGION, "AWS::AccountId": "123456789012"}

    def ref(name: str) -> str:
        if name in names:
            return names[name]
        if name in pseudo:
            return pseudo[name]
        if name in params:
            return str(params[name]["Default"])
        assert name in tpl["Resources"], f"Ref to nothing: {name}"
        return name  # a resource not named by the caller: its logical id

    if isinstance(value, dict):
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return ref(arg)
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([\w:]+)\}", lambda m: ref(m.group(1)), arg)
        if fn == "Fn::FindInMap":
            table, key, field = (resolve(a, names) for a in arg)
            return str(tpl["Mappings"][table][key][field])
        raise AssertionError(f"unsupported intrinsic {fn}")
    return str(value).lower() if isinstance(value, bool) else str(value)


def function_env(function: str, names: dict[str, str]) -> dict[str, str]:
    """The environment the template gives ``function`` (Globals, then its own)."""
    tpl = _template()
    merged: dict[str, Any] = {}
    merged.update(tpl["Globals"]["Function"].get("Environment", {}).get("Variables", {}))
    own = tpl["Resources"][function]["Properties"].get("Environment", {})
    merged.update(own.get("Variables", {}))
    return {k: resolve(v, names) for k, v in merged.items()}


def base_env() -> dict[str, str]:
    """This process's environment without grokgate's or Lambda Web Adapter's settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GROKGATE_", "AWS_LWA_", "AWS_LAMBDA_", "VERCEL"))
    }


@cache
def _transformed() -> dict[str, Any]:
    """The CloudFormation SAM generates (offline: code URIs as ``sam package`` leaves them)."""
    from samtranslator.translator.transform import transform

    tpl = template()
    for resource in tpl["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://grokgate-artifacts/code.zip"

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    out: dict[str, Any] = transform(
        tpl, {"AWS::Region": REGION, "AWS::AccountId": "123456789012"}, _NoManagedPolicies()
    )
    return out


def transformed() -> dict[str, Any]:
    return copy.deepcopy(_transformed())
