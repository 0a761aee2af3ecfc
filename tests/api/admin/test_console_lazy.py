"""The console costs the models function nothing until ``/admin`` is asked: with the admin key
set, building the app and answering ``/health`` or ``/v1/models`` loads no console module; the
first ``/admin`` request builds it. And every deployment routes ``/admin`` to that function."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.api.admin.admin_support import ADMIN_KEY
from tests.deploy.sam import ROOT, api_events
from tests.support import API_KEY

CHILD = r"""
import asyncio, json, sys
import httpx
from grokgate.api.app import create_app

app = create_app(surfaces=("models",))
def console():
    return sorted(m for m in sys.modules if "grokgate.admin" in m)
async def main():
    transport = httpx.ASGITransport(app=app)
    seen = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for path in ("/health", "/v1/models"):
            r = await client.get(path, headers={"Authorization": "Bearer " + sys.argv[1]})
            seen[path] = [r.status_code, console()]
        r = await client.get("/admin/login")
        seen["/admin/login"] = [r.status_code, console()]
    print(json.dumps(seen))
asyncio.run(main())
"""


def test_console_modules_load_only_on_the_first_admin_request(tmp_path: object) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "GROKGATE_ADMIN_KEY": ADMIN_KEY,
        "GROKGATE_API_KEYS": API_KEY,
        "GROKGATE_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", CHILD, API_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["/health"] == [200, []]
    assert seen["/v1/models"] == [200, []]
    status, loaded = seen["/admin/login"]
    assert status == 200 and "grokgate.admin.app" in loaded


def test_admin_is_routed_to_the_models_function_everywhere() -> None:
    paths = [e["Path"] for e in api_events("ModelsFunction")]
    assert "/{proxy+}" in paths  # API Gateway: the catch-all reaches /admin and /admin/...
    config = json.loads((ROOT / "vercel.json").read_text())
    admin = [r for r in config["routes"] if r["src"].startswith("/admin")]
    assert admin and admin[0]["dest"] == "/functions/models/vercel_app.py"
    first = next(r for r in config["routes"] if r["src"] in ("/admin(/.*)?", "/(.*)"))
    assert first["src"] == "/admin(/.*)?"
