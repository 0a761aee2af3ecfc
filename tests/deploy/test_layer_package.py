"""The Lambda layer as ``sam build`` makes it (template.yaml: SharedLayer, ``BuildMethod:
makefile``; shared/Makefile), checked without building it (no pip, no network): one Python
version, the simulator, the fake xAI API and demo mode left out while nothing that ships needs
them, and bytecode that Lambda's read-only /opt/python uses as it is.

A built layer (``sam build`` or ``bash .ci/build-layer DIR``) is checked by
``tests/deploy/test_layer_arch.py``."""

from __future__ import annotations

import importlib.util
import marshal
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grokgate.simulator.statsig import DEMO_CONSTANTS
from tests.deploy.layer import (
    MAKEFILE,
    PACKAGE,
    ROOT,
    UNCHECKED_HASH,
    demo_only,
    modules,
    pyc_header,
    python_version,
    shipped_modules,
)
from tests.deploy.sam import ENTRIES, TEMPLATE, base_env, template

# imports every module named in argv[2] and builds every function's app (argv[3]: entry files)
# with the modules named in argv[1] refused, as they are absent from the layer
IMPORT_ALL = """
import importlib, importlib.abc, importlib.util, sys

refused = tuple(sys.argv[1].split(","))

def _refused(name):
    return any(name == r or name.startswith(r + ".") for r in refused)

class NotInTheLayer(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if _refused(name):
            raise ModuleNotFoundError(f"No module named {name!r} (not in the layer)", name=name)
        return None

sys.meta_path.insert(0, NotInTheLayer())
names = sys.argv[2].split(",")
for name in names:
    importlib.import_module(name)
from mangum import Mangum
from grokgate.api.app import create_app
for index, entry in enumerate(sys.argv[3].split(",")):
    spec = importlib.util.spec_from_file_location(f"entry{index}", entry)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "create"):  # the chat function: uvicorn's factory
        app = module.create()
    else:  # a buffered function, as its handler builds it on the first invocation
        app = Mangum(create_app(surfaces=module.SURFACES), lifespan="off")
    assert app is not None, entry
loaded = [name for name in sys.modules if _refused(name)]
assert not loaded, loaded
print(len(names), "modules,", len(sys.argv[3].split(",")), "apps")
"""


def make(artifacts: Path) -> list[str]:
    """shared/Makefile as sam runs it, writing into ``artifacts``, with this interpreter."""
    return [
        "make",
        "-s",
        "-f",
        str(MAKEFILE),
        f"ARTIFACTS_DIR={artifacts}",
        f"PYTHON={sys.executable}",
    ]


def test_one_python_version_stated_once_and_built_by_the_makefile() -> None:
    tpl = template()
    runtime = f"python{python_version()}"
    param = tpl["Parameters"]["PythonRuntime"]
    assert param["Default"] == runtime and param["AllowedValues"] == [runtime]
    assert tpl["Globals"]["Function"]["Runtime"] == {"Ref": "PythonRuntime"}
    for name, resource in tpl["Resources"].items():
        assert "Runtime" not in resource.get("Properties", {}), f"{name} names its own runtime"
    layer = tpl["Resources"]["SharedLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == [{"Ref": "PythonRuntime"}]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert re.search(r"^build-SharedLayer:", MAKEFILE.read_text(), re.MULTILINE)
    # no other Python version anywhere in the template (python3.13 beside cp312 binaries before)
    assert set(re.findall(r"python3\.\d+", TEMPLATE.read_text())) == {runtime}
    # the lock reaches the build (sam's own python method reads neither it nor its pins) and
    # sam's cache key for the layer, which is a hash of ContentUri's files (docs/lambda-layer.md §2)
    lock = ROOT / "shared" / "constraints.txt"
    assert lock.is_symlink() and lock.resolve() == (ROOT / "constraints.txt").resolve()
    assert '-c "$(SHARED)/constraints.txt"' in MAKEFILE.read_text()


def test_the_build_script_runs_the_makefile() -> None:
    """One recipe: .ci/build-layer is sam's build without sam."""
    script = (ROOT / ".ci" / "build-layer").read_text()
    assert "shared/Makefile" in script and "build-SharedLayer" in script
    assert "pip install" not in script and "compileall" not in script


def test_the_demo_modules_exist_and_are_left_out() -> None:
    left_out = demo_only()
    assert set(left_out) == {"grokgate.simulator", "grokgate.demo"}
    everything = modules(PACKAGE)
    assert all(name in everything for name in left_out)
    assert any(name.startswith("grokgate.simulator.xai") for name in everything)  # fake xAI
    shipped = shipped_modules()
    assert not [name for name in shipped if name.startswith(left_out)]
    assert len(shipped) > 100


def test_no_shipped_module_holds_the_demo_statsig_constants() -> None:
    """Only the simulator accepts them: they belong to demo mode, not to the deployed code."""
    secrets = (DEMO_CONSTANTS.header.hex(), DEMO_CONSTANTS.suffix)
    holders = [
        str(path.relative_to(ROOT))
        for path in shipped_modules().values()
        if any(secret in path.read_text() for secret in secrets)
    ]
    assert not holders, f"demo statsig constants in shipped modules: {holders}"


def test_every_shipped_module_and_function_app_loads_without_the_demo(tmp_path: Path) -> None:
    names = sorted(shipped_modules())
    entries = [str(ROOT / entry) for entry in ENTRIES.values()]
    env = {**base_env(), "PYTHONPATH": str(ROOT / "shared"), "GROKGATE_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            IMPORT_ALL,
            ",".join(demo_only()),
            ",".join(names),
            ",".join(entries),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,  # no .env file
        env=env,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.split()[:1] == [str(len(names))]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_the_makefile_copies_grokgate_without_the_demo_and_compiles_it(tmp_path: Path) -> None:
    """The layer's package and bytecode steps (pip's step needs the network), compiled here by
    this interpreter; the real build insists on a Python 3.12."""
    subprocess.run(
        [*make(tmp_path), "package", "bytecode"],
        check=True,
        timeout=300,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    package = tmp_path / "python" / "grokgate"
    built = modules(package)
    assert sorted(built) == sorted(shipped_modules())
    assert not (package / "simulator").exists() and not (package / "demo.py").exists()
    for name, path in built.items():
        cached = Path(importlib.util.cache_from_source(str(path)))
        assert cached.is_file(), f"no bytecode for {name}"
        magic, flags = pyc_header(cached)
        assert (magic, flags) == (importlib.util.MAGIC_NUMBER, UNCHECKED_HASH), name
    # Lambda's /opt is read-only: the .pyc must be used as it is, whatever the .py's mtime
    for path in built.values():
        os.utime(path, (1, 1))
    probe = "import grokgate.config, grokgate.api.app; print(grokgate.config.__file__)"
    out = subprocess.run(
        [sys.executable, "-v", "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base_env(), "PYTHONPATH": str(tmp_path / "python"), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.strip() == str(package / "config.py")
    cached = importlib.util.cache_from_source(str(package / "config.py"))
    assert f"code object from '{cached}'" in out.stderr
    # the path Lambda's tracebacks show (importlib puts the real one back where they differ)
    code = marshal.loads(Path(cached).read_bytes()[16:])
    assert code.co_filename == "/opt/python/grokgate/config.py"


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.skipif(sys.version_info[:2] == (3, 12), reason="this interpreter is a 3.12")
def test_the_layer_build_refuses_a_python_other_than_the_runtime(tmp_path: Path) -> None:
    out = subprocess.run(
        [*make(tmp_path), "build-SharedLayer"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"is Python {version}, the layer is for {python_version()}" in out.stderr
    assert not (tmp_path / "python").exists()  # refused before pip ran
