"""The locks: a fresh clone installs what CI tested.

``uv.lock`` is the source (``uv sync`` and Vercel read it); ``constraints.txt`` is the same pins
for pip, which the README's two commands and ``.ci/run`` pass with ``-c``. ``bash .ci/lock``
rewrites both.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)(\s*;.*)?$")


def _lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line.strip())
        assert match, f"constraints.txt: not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def _declared() -> set[tuple[str, str, str]]:
    """Every requirement of pyproject.toml as (name, extras, specifier, marker) strings."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = set()
    for text in project["dependencies"]:
        req = Requirement(text)
        found.add((canonicalize_name(req.name), str(req.specifier), ""))
    for extra, items in project["optional-dependencies"].items():
        for text in items:
            req = Requirement(text)
            found.add((canonicalize_name(req.name), str(req.specifier), extra))
    return found


def test_the_lock_was_made_from_the_current_pyproject() -> None:
    ours = next(p for p in _lock()["package"] if p["name"] == "grokgate")
    locked = set()
    for item in ours["metadata"]["requires-dist"]:
        extra = re.search(r"extra == '([^']+)'", item.get("marker", ""))
        locked.add(
            (
                canonicalize_name(item["name"]),
                str(Requirement(f"x{item.get('specifier', '')}").specifier),
                extra[1] if extra else "",
            )
        )
    assert locked == _declared(), "pyproject.toml changed since uv.lock: run `bash .ci/lock`"


def test_constraints_pin_exactly_what_uv_lock_holds() -> None:
    locked = {canonicalize_name(p["name"]): p["version"] for p in _lock()["package"]}
    pins = _pins()
    assert pins, "constraints.txt pins nothing"
    for name, version in pins.items():
        assert locked.get(name) == version, f"{name}: {version} here, {locked.get(name)} locked"
    # every third-party package in the lock is pinned for pip too
    assert set(locked) - {"grokgate"} == set(pins)


def test_constraints_are_the_export_of_the_lock() -> None:
    from uv import find_uv_bin

    out = subprocess.run(
        [
            find_uv_bin(),
            "export",
            "--frozen",
            "--offline",
            "--all-extras",
            "--all-groups",
            "--no-emit-project",
            "--no-hashes",
            "--no-annotate",
            "--no-header",
            "--format",
            "requirements-txt",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    body = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line[:1] != "#"]
    assert [line for line in out.splitlines() if line[:1] != "#"] == body


def test_readme_and_ci_install_with_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text()
    serve = "python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e . && "
    test = "python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[test]' && "
    assert serve in readme
    assert test in readme
    ci = (ROOT / ".ci/run").read_text()
    command = next(line for line in readme.splitlines() if line.startswith(test))
    assert command in ci, ".ci/run must run the README's test command exactly"
    assert " && npm ci --prefix tests/node && " in command, "the Node clients must be installed"


def test_the_node_clients_are_pinned_exactly() -> None:
    node = ROOT / "tests/node"
    wanted = json.loads((node / "package.json").read_text())["dependencies"]
    locked = json.loads((node / "package-lock.json").read_text())["packages"]
    assert locked[""]["dependencies"] == wanted, "package.json changed since package-lock.json"
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: pin an exact version"
        assert locked[f"node_modules/{name}"]["version"] == version
    assert "tests/node/node_modules/" in (ROOT / ".gitignore").read_text().splitlines()
