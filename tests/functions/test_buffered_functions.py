"""The buffered functions (models, images, videos) as deployed: each runs its entry module in its
own interpreter with the template's environment, gets API Gateway REST proxy events (v1), uses
moto's DynamoDB, S3 and Secrets Manager, and must answer what the local server answers."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from grokgate.api.app import create_app
from grokgate.simulator.server import ServerThread
from grokgate.simulator.uploads import tiny_png
from tests.conftest import gateway_settings
from tests.functions.apigw import response as read
from tests.functions.apigw import rest_event
from tests.functions.conftest import Deployment, routes_of
from tests.functions.lambda_fakes import FunctionHost
from tests.support import API_KEY, Sim

AUTH = {"Authorization": f"Bearer {API_KEY}"}
VOLATILE = {"id", "created", "created_at", "completed_at", "expires_at", "url", "b64_json"}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def local(sim: Sim, tmp_path: Path) -> Iterator[str]:
    """The local server (SQLite, local media) in front of the same simulator."""
    with ServerThread(create_app(settings=gateway_settings(sim.url, tmp_path / "local"))) as s:
        yield s.url


class Both:
    """Sends one request to a function (as an API Gateway event) and to the local server."""

    def __init__(self, function: str, host: FunctionHost, local: str) -> None:
        self.routes = routes_of(function)
        self.host = host
        self.local = local

    def fn(self, method: str, path: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
        return read(self.host.invoke(rest_event(method, path, self.routes, **kw)))

    def there(self, method: str, path: str, **kw: Any) -> httpx.Response:
        body = kw.pop("body", None)
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = dict(kw.pop("headers", {}))
        if isinstance(body, dict):
            headers["Content-Type"] = "application/json"
        return httpx.request(
            method, self.local + path, content=content, headers=headers, timeout=30
        )

    def same(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """Both answers, which must have the same status and body; returns them."""
        status, headers, body = self.fn(method, path, **kw)
        there = self.there(method, path, **kw)
        assert status == there.status_code, (body, there.content)
        assert headers.get("content-type") == there.headers.get("content-type")
        if not headers.get("content-type", "").startswith("application/json"):
            assert body == there.content
            return status, body
        assert json.loads(body) == there.json()
        return status, json.loads(body)


def _shape(doc: Any) -> Any:
    """The body with what differs between two runs (ids, times, URLs) blanked out."""
    if isinstance(doc, dict):
        return {
            k: ("<v>" if k in VOLATILE and v is not None else _shape(v)) for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [_shape(v) for v in doc]
    return doc


def _presigned_s3(url: str, bucket: str) -> None:
    parts = urlsplit(url)
    assert parts.path.startswith(f"/{bucket}/"), url
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in query


def test_models_function_answers_like_the_local_server(deployment: Deployment, local: str) -> None:
    both = Both("ModelsFunction", deployment.start("ModelsFunction"), local)
    status, listed = both.same("GET", "/v1/models", headers=AUTH)
    assert status == 200 and "grok-4.20-fast" in [m["id"] for m in listed["data"]]
    assert both.same("GET", "/v1/models/grok-4.20-fast", headers=AUTH)[0] == 200
    assert both.same("GET", "/v1/models/xai/grok-4", headers=AUTH)[0] == 200  # greedy {x+}
    assert both.same("GET", "/v1/models/nope", headers=AUTH)[0] == 404
    assert both.same("GET", "/health")[0] == 200
    # the key came from Secrets Manager: without it, the same 401
    status, denied = both.same("GET", "/v1/models")
    assert status == 401 and denied["error"]["code"] == "invalid_api_key"
    # an unknown path reaches this function through the catch-all route: OpenAI's 404
    status, missing = both.same("POST", "/v1/embeddings", headers=AUTH, body={"input": "x"})
    assert status == 404 and missing["error"]["code"] == "unknown_url"
    assert both.same("DELETE", "/v1/models", headers=AUTH)[0] == 405
    # a browser's preflight (every route is ANY, so OPTIONS reaches the app's CORS handling)
    preflight = {
        "Origin": "https://chat.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,x-stainless-os",
    }
    status, headers, _ = both.fn("OPTIONS", "/v1/models", headers=preflight)
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert "x-stainless-os" in headers["access-control-allow-headers"].lower()


def test_images_function_answers_like_the_local_server_with_files_in_s3(
    deployment: Deployment, local: str, sim: Sim
) -> None:
    both = Both("ImagesFunction", deployment.start("ImagesFunction"), local)
    bucket = deployment.names["MediaBucket"]
    request = {"prompt": "a fox", "n": 2, "model": "grok-imagine-image"}
    status, _, raw = both.fn("POST", "/v1/images/generations", headers=AUTH, body=request)
    there = both.there("POST", "/v1/images/generations", headers=AUTH, body=request)
    assert status == there.status_code == 200, raw
    made = json.loads(raw)
    assert _shape(made) == _shape(there.json())
    assets = {a.data for a in sim.state.media.assets.values()}
    for image in made["data"]:
        _presigned_s3(image["url"], bucket)
        got = httpx.get(image["url"], timeout=10)  # anyone with the URL, no credentials
        assert got.status_code == 200 and got.content in assets
    # an edit arrives as multipart/form-data, base64-encoded by API Gateway (BinaryMediaTypes)
    boundary = "grokgate-test-boundary"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nblue\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + tiny_png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    multipart = {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, _, raw = both.fn("POST", "/v1/images/edits", headers=multipart, body=form)
    there = both.there("POST", "/v1/images/edits", headers=multipart, body=form)
    assert status == there.status_code == 200, raw
    assert _shape(json.loads(raw)) == _shape(there.json())
    _presigned_s3(json.loads(raw)["data"][0]["url"], bucket)
    b64 = {**request, "n": 1, "response_format": "b64_json"}
    status, _, raw = both.fn("POST", "/v1/images/generations", headers=AUTH, body=b64)
    assert status == 200
    assert base64.b64decode(json.loads(raw)["data"][0]["b64_json"])[:3] == b"\xff\xd8\xff"
    # mistakes: the same error bodies
    assert both.same("POST", "/v1/images/generations", headers=AUTH, body={"n": 1})[0] == 400
    too_many = {"prompt": "x", "n": 99}
    assert both.same("POST", "/v1/images/generations", headers=AUTH, body=too_many)[0] == 400
    assert both.same("POST", "/v1/images/generations", body=request)[0] == 401
    bad = {**AUTH, "Content-Type": "application/json"}
    assert both.same("POST", "/v1/images/generations", headers=bad, body=b"{not json")[0] == 400


def test_videos_function_runs_jobs_asynchronously_and_answers_like_the_local_server(
    deployment: Deployment, local: str, sim: Sim
) -> None:
    both = Both("VideosFunction", deployment.start("VideosFunction"), local)
    fake = deployment.fake_lambda
    assert fake is not None
    request = {"prompt": "the sea at night"}
    status, _, raw = both.fn("POST", "/v1/videos", headers=AUTH, body=request)
    there = both.there("POST", "/v1/videos", headers=AUTH, body=request)
    assert status == there.status_code == 200, raw
    job = json.loads(raw)
    assert job["status"] == "queued" and _shape(job) == _shape(there.json())
    # the function handed the job to an asynchronous invocation of itself, as named in the
    # template (GROKGATE_VIDEO_WORKER_FUNCTION), and returned at once
    assert fake.calls == [("grokgate-videos", "Event", {"grokgate_video_job": job["id"]})]
    done = _until_finished(lambda: _read_job(both, f"/v1/videos/{job['id']}"))
    local = f"/v1/videos/{there.json()['id']}"
    local_done = _until_finished(lambda: both.there("GET", local, headers=AUTH).json())
    assert done["status"] == "completed", (done, [r.stdout + r.stderr for r in fake.runs])
    assert _shape(done) == _shape(local_done)
    status, headers, _ = both.fn("GET", f"/v1/videos/{job['id']}/content", headers=AUTH)
    assert status == 302
    _presigned_s3(headers["location"], deployment.names["MediaBucket"])
    made = [sim.state.media.asset(path) for path in sim.state.media.videos.values()]
    assert httpx.get(headers["location"], timeout=10).content in [a.data for a in made if a]
    status, _, raw = both.fn("GET", "/v1/videos", headers=AUTH)
    assert status == 200 and [v["id"] for v in json.loads(raw)["data"]] == [job["id"]]
    assert both.same("GET", "/v1/videos/video_nope", headers=AUTH)[0] == 404
    assert both.same("POST", "/v1/videos", headers=AUTH, body={"prompt": ""})[0] == 400
    while not fake.runs:
        time.sleep(0.05)
    assert fake.runs[0].returncode == 0, fake.runs[0].stderr


def _until_finished(get: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Poll a job (``get`` reads it) until it completes or fails, for at most a minute."""
    deadline = time.monotonic() + 60
    while True:
        job = get()
        if job["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def _read_job(both: Both, path: str) -> dict[str, Any]:
    status, _, raw = both.fn("GET", path, headers=AUTH)
    assert status == 200, raw
    job: dict[str, Any] = json.loads(raw)
    return job


def test_a_video_id_in_the_path_reaches_the_handler_as_api_gateway_sends_it() -> None:
    event = rest_event(
        "GET", "/v1/videos/video_1/content?variant=thumbnail", routes_of("VideosFunction")
    )
    assert event["resource"] == "/v1/videos/{video_id}/content"
    assert event["pathParameters"] == {"video_id": "video_1"}
    assert event["queryStringParameters"] == {"variant": "thumbnail"}
    assert re.fullmatch(r"/prod/v1/videos/video_1/content", event["requestContext"]["path"])
