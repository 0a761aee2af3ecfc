"""Cold start: import and first request of each function entry module, in a fresh interpreter.

    .venv/bin/python bench/coldstart.py [--runs 7] [--only NAME] [--no-bytecode]

Every sample is a new ``python`` process, set up as Lambda loads a function: the function's
directory is the cwd and on sys.path, ``shared/`` is on sys.path (the layer's /opt/python). The
child imports the entry module by file path (timed), then serves one ``GET /health`` (timed):
``handler(event, None)`` with an API Gateway REST v1 event for Mangum handlers; for app
factories ``uvicorn.main`` (which the Web Adapter's run.sh starts first), ``create()`` and one
ASGI request through ``httpx.ASGITransport``; that request against a module-level ASGI ``app``.
Offline: GROKGATE_* cleared, then set as in a deployed function (DEPLOYED: API keys, DynamoDB,
S3), GROKGATE_DATA_DIR a temp dir; no account is configured and nothing is contacted.
Baseline rows run in the same rounds, one per kind: a bare FastAPI app answering ``/health``
through Mangum (bench/bare/handler.py), as a factory (bare/app) and as a module-level app
(bare/vercel_app); "x bare" is each row's first request over the bare row of its kind.
Bytecode goes to a temp PYTHONPYCACHEPREFIX (never into the repo); an unmeasured warm-up round
writes it, so the figures are with .pyc.
``--no-bytecode`` compiles every module from source in every child instead (an upper bound for
a bundle shipped without .pyc: its directory is read-only, so nothing gets cached there).
Prints medians (min-max) and the modules loaded, as a markdown table.
"process wall" is the parent's clock around the child: interpreter start, import, request, and
no teardown (the child ends with os._exit, as a Lambda instance does not exit after a request).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
BARE = Path(__file__).resolve().parent / "bare"  # the baseline apps
SHARED = ROOT / "shared"
TIMEOUT = 60.0  # seconds per child
MARK = "COLDSTART-RESULT "

# Runs in the child via ``python -c``; argv: entry file, shared dir. Only cheap stdlib imports
# before the measured import; json and the request machinery are loaded after it.
CHILD = r"""
import sys, time, importlib.util
entry, shared = sys.argv[1], sys.argv[2]
sys.path[:0] = [entry.rsplit("/", 1)[0], shared]
before = len(sys.modules)
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("entry", entry)
mod = importlib.util.module_from_spec(spec)
sys.modules["entry"] = mod
spec.loader.exec_module(mod)
t1 = time.perf_counter()
after_import = len(sys.modules)
EVENT = {
    "resource": "/health", "path": "/health", "httpMethod": "GET",
    "headers": {"Host": "example.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"},
    "multiValueHeaders": {"Host": ["example.execute-api.us-east-1.amazonaws.com"],
                          "Accept": ["*/*"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {
        "resourcePath": "/health", "httpMethod": "GET", "path": "/prod/health", "stage": "prod",
        "accountId": "123456789012", "apiId": "example", "requestId": "cold-1",
        "protocol": "HTTP/1.1", "requestTimeEpoch": 1700000000000,
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "coldstart"},
    },
}
def asgi_get(app):
    import asyncio, httpx
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return (await client.get("/health")).status_code
    return asyncio.run(go())
if callable(getattr(mod, "handler", None)):
    kind, status = "handler", mod.handler(EVENT, None)["statusCode"]
elif callable(getattr(mod, "create", None)):
    import uvicorn.main  # what run.sh's `python -m uvicorn --factory app:create` loads first
    kind, status = "create", asgi_get(mod.create())
elif getattr(mod, "app", None) is not None:
    kind, status = "app", asgi_get(mod.app)
else:
    raise SystemExit("no handler, create() or app in " + entry)
t2 = time.perf_counter()
assert status == 200, f"GET /health answered {status}"
import json
print("COLDSTART-RESULT " + json.dumps({
    "kind": kind, "import": t1 - t0, "request": t2 - t0,
    "mods_import": after_import - before, "mods_request": len(sys.modules) - before,
}), flush=True)
import os
os._exit(0)  # a Lambda instance lives on: skip the ~150 ms teardown of ~600 modules
"""


class ChildError(RuntimeError):
    pass


EXTRA_ENV: dict[str, str] = {}  # bytecode settings, set by main()
# What a deployed function's settings say (template.yaml), minus GROKGATE_SECRETS: it has API
# keys (an open gateway answers only to loopback Host names and would refuse API Gateway's
# with a 400), its state in DynamoDB and its files in S3 (so no local /media routes).
# Nothing is contacted: GET /health opens no store.
DEPLOYED = {
    "GROKGATE_API_KEYS": "coldstart-bench-key",
    "GROKGATE_STORE": "dynamodb",
    "GROKGATE_MEDIA": "s3",
    "GROKGATE_MEDIA_BUCKET": "coldstart-bench",
}


def child_env(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    for name in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    env.update(EXTRA_ENV, GROKGATE_DATA_DIR=data_dir, **DEPLOYED)
    return env


def run_child(args: list[str], cwd: Path) -> tuple[float, dict[str, float]]:
    """One fresh interpreter; returns (process wall seconds, the child's result or {})."""
    with tempfile.TemporaryDirectory(prefix="coldstart-") as data_dir:
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, *args],
                cwd=cwd,
                env=child_env(data_dir),
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise ChildError(f"timed out after {TIMEOUT:.0f} s") from exc
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise ChildError(f"exit {proc.returncode}:\n{tail}")
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result: dict[str, float] = json.loads(line[len(MARK) :])
            return wall, result
    if args[:2] == ["-c", "pass"]:
        return wall, {}
    raise ChildError(f"no result line in the output:\n{proc.stdout[-400:]}")


def ms(values: list[float]) -> str:
    scaled = [v * 1000 for v in values]
    return f"{statistics.median(scaled):.0f} ms ({min(scaled):.0f}-{max(scaled):.0f})"


def entries(only: str | None) -> list[tuple[str, Path]]:
    """The baseline apps (always) and the function entry modules ``only`` selects."""
    found = [(f"bare/{path.stem}", path) for path in sorted(BARE.glob("*.py"))]
    for path in sorted(FUNCTIONS.glob("*/*.py")):
        name = f"{path.parent.name}/{path.stem}"
        if not path.name.startswith("_") and (only is None or only in name):
            found.append((name, path))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per module")
    parser.add_argument("--only", help="measure only entries whose name contains this")
    parser.add_argument("--no-bytecode", action="store_true", help="no .pyc: compile each time")
    args = parser.parse_args()
    runs = max(1, args.runs)
    todo = entries(args.only)
    pycache = tempfile.mkdtemp(prefix="coldstart-pyc-")
    EXTRA_ENV["PYTHONPYCACHEPREFIX"] = pycache
    if args.no_bytecode:
        EXTRA_ENV["PYTHONDONTWRITEBYTECODE"] = "1"
    bytecode = "no .pyc" if args.no_bytecode else "with .pyc"
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {runs} runs, {bytecode}\n")
    failures: dict[str, str] = {}
    base: list[float] = []
    walls: dict[str, list[float]] = {name: [] for name, _ in todo}
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in todo}
    # Round-robin (run 1 of every module, then run 2, ...) so a burst of load elsewhere on the
    # machine spreads over all rows instead of landing on one. The first round only warms up.
    for round_ in range(runs + 1):
        wall, _ = run_child(["-c", "pass"], ROOT)
        if round_:
            base.append(wall)
        for name, path in todo:
            if name in failures:
                continue
            try:
                wall, result = run_child(["-c", CHILD, str(path), str(SHARED)], path.parent)
            except ChildError as exc:
                failures[name] = str(exc)
                continue
            if round_:  # round 0 writes the .pyc files and is not measured
                walls[name].append(wall)
                results[name].append(result)

    def first_request(name: str) -> float | None:
        rs = results.get(name)
        return statistics.median(r["request"] for r in rs) if rs else None

    bare = {
        kind: first_request(f"bare/{stem}")
        for kind, stem in (("handler", "handler"), ("create", "app"), ("app", "vercel_app"))
    }
    print(
        "| entry | kind | import | first request | x bare | process wall | modules (import / req) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(f"| `python -c pass` | baseline | | | | {ms(base)} | |")
    for name, _ in todo:
        if name in failures:
            print(f"| {name} | FAILED (below) | | | | | |")
            continue
        rs = results[name]
        imp, req = ms([r["import"] for r in rs]), ms([r["request"] for r in rs])
        mods = f"{rs[0]['mods_import']:.0f} / {rs[0]['mods_request']:.0f}"
        kind = str(rs[0]["kind"])
        floor = bare.get(kind)
        own = first_request(name)
        ratio = f"{own / floor:.2f}" if floor and own else ""
        print(f"| {name} | {kind} | {imp} | {req} | {ratio} | {ms(walls[name])} | {mods} |")
    print(
        "\nmedian (min-max); first request includes the import; x bare: median first request "
        "over the bare row of the same kind (handler: bare/handler, create: bare/app, app: "
        "bare/vercel_app); process wall = start to answer"
    )
    shutil.rmtree(pycache, ignore_errors=True)
    for name, error in failures.items():
        print(f"\n{name} failed: {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
