"""A built Lambda layer is for Lambda: arm64 (``template.yaml``: SharedLayer, BuildArchitecture
arm64) and the one CPython its functions run (``PythonRuntime``, python3.12), whatever machine
built it; it holds grokgate without demo mode and bytecode for every module.

Runs only on a built layer: ``GROKGATE_LAYER_DIR`` names the folder that holds ``python/`` (what
``bash .ci/build-layer DIR`` writes, or ``.aws-sam/build/SharedLayer`` after ``sam build``, whose
``template.yaml`` beside it is then checked too)::

    bash .ci/build-layer /tmp/layer
    GROKGATE_LAYER_DIR=/tmp/layer .venv/bin/python -m pytest tests/deploy/test_layer_arch.py
    sam build && bash .ci/inspect-layer          # these tests on sam's build, and its figures

Every shared object is read by its ELF header (no ``file`` command): one built for this machine
(x86_64) would fail to load on Lambda's Graviton with an ImportError at the first cold start.
"""

from __future__ import annotations

import os
import re
import struct
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.layer import (
    MAGIC,
    ROOT,
    UNCHECKED_HASH,
    is_demo,
    modules,
    pyc_header,
    python_version,
    resolve_sub,
    shipped_modules,
    transform,
)

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


@pytest.fixture(scope="module")
def built_template() -> dict[str, Any] | None:
    """``sam build``'s template.yaml beside the layer (None for a .ci/build-layer folder)."""
    from samtranslator.yaml_helper import yaml_parse

    path = Path(os.environ[LAYER_ENV]).parent / "template.yaml"
    if not path.is_file():
        return None
    parsed: dict[str, Any] = yaml_parse(path.read_text())
    return parsed


@pytest.fixture(scope="module")
def runtime() -> str:
    """The one runtime the layer is built for (shared/Makefile's PYTHON_VERSION)."""
    return f"python{python_version()}"


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


def test_extension_modules_are_for_the_declared_runtime(layer: Path, runtime: str) -> None:
    tag = runtime.removeprefix("python").replace(".", "")
    tagged = [path for path in shared_objects(layer) if CPYTHON_TAG.search(path.name)]
    assert tagged, "no CPython extension module at all"
    other = [str(p.relative_to(layer)) for p in tagged if CPYTHON_TAG.search(p.name)[1] != tag]  # type: ignore[index]
    assert not other, f"built for another CPython than {runtime}: {other}"


def test_compatible_runtimes_are_the_one_python_built(
    built_template: dict[str, Any] | None, runtime: str
) -> None:
    """CompatibleRuntimes as the deployed template states them (sam build's copy, else the
    source): python3.13 beside cp312 binaries would let a 3.13 function load them and fail."""
    from samtranslator.yaml_helper import yaml_parse

    tpl = built_template or yaml_parse((ROOT / "template.yaml").read_text())
    declared = [
        resolve_sub(entry, tpl.get("Parameters", {}))
        for entry in tpl["Resources"]["SharedLayer"]["Properties"]["CompatibleRuntimes"]
    ]
    assert declared == [runtime], f"CompatibleRuntimes {declared}: the layer is for {runtime}"


def test_every_module_has_bytecode_the_runtime_uses_as_it_is(layer: Path, runtime: str) -> None:
    """Lambda's /opt is read-only: a module without a matching .pyc is compiled on every cold
    start. Unchecked hashes: the .pyc is used without reading the .py's mtime or bytes."""
    version = runtime.removeprefix("python")
    tag = f"cpython-{version.replace('.', '')}"
    sources = [p for p in layer.rglob("*.py") if "__pycache__" not in p.parts]
    missing, wrong = [], []
    for source in sources:
        cached = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not cached.is_file():
            missing.append(str(source.relative_to(layer)))
        elif pyc_header(cached) != (MAGIC[version], UNCHECKED_HASH):
            wrong.append(str(cached.relative_to(layer)))
    assert sources
    assert not missing, (
        f"{len(missing)} of {len(sources)} modules without {tag} bytecode: {missing[:10]}"
    )
    assert not wrong, f"not {runtime} unchecked-hash bytecode: {wrong[:10]}"


def test_the_layer_holds_grokgate_without_demo_mode(layer: Path) -> None:
    built = modules(layer / "grokgate")
    demo = sorted(name for name in built if is_demo(name))
    assert not demo, f"demo-only modules in the layer: {demo[:10]}"
    source = shipped_modules()
    stale = {"missing": sorted(set(source) - set(built)), "extra": sorted(set(built) - set(source))}
    assert not stale["missing"] and not stale["extra"], f"not today's grokgate, rebuild: {stale}"


def test_sam_built_the_current_web_adapter_and_the_makefile_layer(
    built_template: dict[str, Any] | None,
) -> None:
    """The CloudFormation SAM makes of sam build's template: the chat function's adapter layer
    is the template's default (v1.1.0, layer 30, or later), the layer is the makefile's."""
    if built_template is None:
        pytest.skip("not a sam build (no template.yaml beside the layer)")
    params = built_template.get("Parameters", {})
    metadata = built_template["Resources"]["SharedLayer"]["Metadata"]
    out = transform(built_template)
    chat = out["Resources"]["ChatFunction"]["Properties"]
    arns = [resolve_sub(entry, params) for entry in chat["Layers"]]
    adapter = [arn for arn in arns if ":layer:LambdaAdapterLayerArm64:" in arn]
    assert len(adapter) == 1, arns
    version = int(adapter[0].rsplit(":", 1)[1])
    assert version >= 30, f"Web Adapter layer {version}: not v1.1.0 (30) or later"
    from samtranslator.yaml_helper import yaml_parse

    source = yaml_parse((ROOT / "template.yaml").read_text())
    assert version == source["Parameters"]["WebAdapterLayerVersion"]["Default"], "stale build"
    layers = [r for r in out["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    ((layer_version,),) = [layers]
    runtimes = [resolve_sub(r, params) for r in layer_version["Properties"]["CompatibleRuntimes"]]
    assert runtimes == [f"python{python_version()}"]
    assert metadata["BuildMethod"] == "makefile"  # sam's python method ignores the lock
    print(f"adapter layer {version}, CompatibleRuntimes {runtimes}")


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


def test_every_distribution_is_at_its_locked_version(layer: Path) -> None:
    """constraints.txt, which sam's own python3.12 build method never read (it shipped pydantic
    2.14.4 against the locked 2.13.5)."""
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            (spec,) = req.specifier
            pins[canonicalize_name(req.name)] = spec.version
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version for d in distributions(path=[str(layer)])
    }
    unlocked = sorted(name for name in installed if name not in pins)
    off = {
        name: f"{v} (locked {pins[name]})"
        for name, v in installed.items()
        if pins.get(name, v) != v
    }
    assert not off, f"not at the locked version: {off}"
    assert not unlocked, f"in the layer but not in constraints.txt: {unlocked}"


def _applies(marker: Marker, extra: str) -> bool:
    return marker.evaluate({**LAMBDA_ENV, "extra": extra})
