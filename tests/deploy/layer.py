"""What the Lambda layer is meant to hold, read from where the build states it: ``shared/Makefile``
(the Python version, the modules left out) and ``template.yaml`` (the functions' runtime)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
MAKEFILE = SHARED / "Makefile"
PACKAGE = SHARED / "grokgate"
# pyc header (docs/lambda-layer.md §3): magic (4 bytes), flags (4), then the source hash (8);
# flags 0b01 is "hash-based, source not checked" (compileall --invalidation-mode unchecked-hash)
UNCHECKED_HASH = 0b01
# CPython 3.12's bytecode magic number (importlib.util.MAGIC_NUMBER on any 3.12.x)
MAGIC = {"3.12": (3531).to_bytes(2, "little") + b"\r\n"}


def makefile_var(name: str) -> str:
    """A ``NAME := value`` line of shared/Makefile (the value as written, on one line)."""
    match = re.search(rf"^{name}\s*:=\s*(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert match, f"no {name} := in {MAKEFILE}"
    return match.group(1).strip()


def python_version() -> str:
    """The one Python the layer is built for (``3.12``)."""
    return makefile_var("PYTHON_VERSION")


def demo_only() -> tuple[str, ...]:
    """Dotted names of the modules (packages included) the layer leaves out."""
    return tuple(
        "grokgate." + entry.removesuffix(".py") for entry in makefile_var("DEMO_ONLY").split()
    )


def module_name(path: Path, package_dir: Path) -> str:
    """``grokgate.api.app`` for ``<package_dir>/api/app.py``; a package for its __init__.py."""
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package_dir: Path) -> dict[str, Path]:
    """Every module of a grokgate tree (source or built layer), by dotted name."""
    return {
        module_name(path, package_dir): path
        for path in sorted(package_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def is_demo(name: str) -> bool:
    return any(name == left or name.startswith(left + ".") for left in demo_only())


def shipped_modules() -> dict[str, Path]:
    """The source modules that go into the layer: all of grokgate but demo mode's."""
    return {name: path for name, path in modules(PACKAGE).items() if not is_demo(name)}


def pyc_header(path: Path) -> tuple[bytes, int]:
    """(magic, flags) of a .pyc file."""
    head = path.read_bytes()[:16]
    assert len(head) == 16, f"{path}: too short for a pyc"
    return head[:4], int.from_bytes(head[4:8], "little")


def resolve_sub(value: Any, parameters: dict[str, Any]) -> str:
    """A ``Ref`` to a parameter or a ``Fn::Sub`` of parameters, at the parameters' defaults
    (a Ref to a resource gives its logical id; pseudo parameters are kept as written)."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        return str(parameters[name]["Default"]) if name in parameters else str(name)
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(
            r"\$\{(\w+)\}",
            lambda m: str(parameters[m.group(1)]["Default"]) if m.group(1) in parameters else m[0],
            value["Fn::Sub"],
        )
    return str(value)


def transform(tpl: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation SAM generates from ``tpl`` (offline: code as ``sam package`` leaves
    it), resolved nowhere: intrinsics stay as written."""
    import os

    from samtranslator.translator.transform import transform as sam_transform

    for resource in tpl["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://grokgate-artifacts/code.zip"

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    context = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
    out: dict[str, Any] = sam_transform(tpl, context, _NoManagedPolicies())
    return out
