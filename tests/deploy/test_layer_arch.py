"""A built Lambda layer is for Lambda: arm64 (``template.yaml``: SharedLayer, BuildArchitecture
arm64) and CPython 3.12, whatever machine built it.

Runs only on a built layer: ``GROKGATE_LAYER_DIR`` names the folder that holds ``python/`` (what
``bash .ci/build-layer DIR`` writes, or ``.aws-sam/build/SharedLayer`` after ``sam build``)::

    bash .ci/build-layer /tmp/layer
    GROKGATE_LAYER_DIR=/tmp/layer .venv/bin/python -m pytest tests/deploy/test_layer_arch.py

Every shared object is read by its ELF header (no ``file`` command): one built for this machine
(x86_64) would fail to load on Lambda's Graviton with an ImportError at the first cold start.
"""

from __future__ import annotations

import os
import re
import struct
from importlib.metadata import Distribution, distributions
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LAYER_ENV = "GROKGATE_LAYER_DIR"
EM_X86_64, EM_AARCH64 = 62, 183
MACHINES = {3: "i386", EM_X86_64: "x86_64", 40: "arm", EM_AARCH64: "aarch64"}
# what pip's environment markers see on Lambda's python3.12 arm64 runtime
LAMBDA_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.12.0",
    "python_version": "3.12",
    "sys_platform": "linux",
}
CPYTHON_TAG = re.compile(r"\.cpython-(\d+)-")

pytestmark = pytest.mark.skipif(
    not os.environ.get(LAYER_ENV),
    reason=f"no built layer: set {LAYER_ENV} to one (bash .ci/build-layer DIR, or sam build)",
)


@pytest.fixture(scope="module")
def layer() -> Path:
    """The layer's ``python/`` folder (Lambda's /opt/python)."""
    base = Path(os.environ[LAYER_ENV])
    python = base / "python"
    assert python.is_dir(), f"{LAYER_ENV}={base} is not a built layer: no {python}"
    return python


def elf_header(path: Path) -> tuple[int, int, int]:
    """(class, data encoding, e_machine) of an ELF file (class 2: 64-bit, data 1: little-endian)."""
    with path.open("rb") as file:
        head = file.read(20)
    assert len(head) == 20 and head[:4] == b"\x7fELF", f"{path}: not an ELF file"
    elf_class, encoding = head[4], head[5]
    (machine,) = struct.unpack_from("<H" if encoding == 1 else ">H", head, 18)
    return elf_class, encoding, machine


def shared_objects(layer: Path) -> list[Path]:
    found = [
        path
        for path in layer.rglob("*")
        if path.is_file() and (path.name.endswith(".so") or ".so." in path.name)
    ]
    return sorted(found)


def test_curl_cffi_is_aarch64(layer: Path) -> None:
    wrappers = sorted((layer / "curl_cffi").glob("_wrapper*.so"))
    assert wrappers, f"no curl_cffi/_wrapper*.so in {layer}"
    for wrapper in wrappers:
        elf_class, encoding, machine = elf_header(wrapper)
        assert (elf_class, encoding) == (2, 1), f"{wrapper}: not ELF64 little-endian"
        assert machine == EM_AARCH64, (
            f"{wrapper}: e_machine {machine} ({MACHINES.get(machine, '?')}), not AArch64 (183)"
        )


def test_grokgate_is_in_the_layer(layer: Path) -> None:
    package = layer / "grokgate"
    assert (package / "__init__.py").is_file(), f"no grokgate package in {layer}"
    for entry in ("api/app.py", "upstream/browser/curl.py"):
        assert (package / entry).is_file(), f"the layer's grokgate has no {entry}"


def test_no_shared_object_is_for_another_machine(layer: Path) -> None:
    objects = shared_objects(layer)
    assert objects, f"no shared object at all in {layer}: not a built layer?"
    wrong = []
    for path in objects:
        elf_class, encoding, machine = elf_header(path)
        if (elf_class, encoding, machine) != (2, 1, EM_AARCH64):
            name = MACHINES.get(machine, str(machine))
            wrong.append(f"{path.relative_to(layer)}: {name}, class {elf_class}, data {encoding}")
    assert not wrong, "not ELF64 little-endian AArch64:\n" + "\n".join(wrong)
    x86 = [p for p in objects if "x86_64" in p.name]
    assert not x86, f"named for x86_64: {x86}"


def test_extension_modules_are_for_cpython_312(layer: Path) -> None:
    other = [
        str(path.relative_to(layer))
        for path in shared_objects(layer)
        if (tag := CPYTHON_TAG.search(path.name)) and tag[1] != "312"
    ]
    assert not other, f"built for another CPython than 3.12: {other}"


def test_every_requirement_is_in_the_layer(layer: Path) -> None:
    """shared/requirements.txt and what each needs on Lambda (markers evaluated for python3.12
    on aarch64, extras followed), each at a version its requirement allows."""
    installed: dict[str, Distribution] = {
        canonicalize_name(dist.metadata["Name"]): dist for dist in distributions(path=[str(layer)])
    }
    lines = (ROOT / "shared" / "requirements.txt").read_text().splitlines()
    todo = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    seen: set[tuple[str, frozenset[str]]] = set()
    missing: list[str] = []
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        dist = installed.get(key[0])
        if dist is None:
            missing.append(f"{req} (not installed)")
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            missing.append(f"{req} (layer has {dist.version})")
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(
                _applies(sub.marker, extra) for extra in ("", *req.extras)
            ):
                todo.append(sub)
    assert not missing, "missing from the layer:\n" + "\n".join(sorted(missing))


def _applies(marker: Marker, extra: str) -> bool:
    return marker.evaluate({**LAMBDA_ENV, "extra": extra})
