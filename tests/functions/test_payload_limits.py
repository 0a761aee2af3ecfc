"""The platforms' payload limits, as deployed: a buffered function on Lambda refuses a body over
Lambda's 6 MB with grokgate's 413 (naming the limit), and a b64_json answer over what a
platform delivers becomes a 400 that says to ask for ``url`` (the pictures are kept)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from grokgate.api import limits
from grokgate.api.app import create_app
from grokgate.api.limits import request_limit, response_limit
from grokgate.config import Settings
from tests.deploy.sam import load_file
from tests.functions.apigw import response as read
from tests.functions.apigw import rest_event
from tests.functions.conftest import Deployment, routes_of
from tests.support import API_KEY, GatewayFactory, Sim

AUTH = {"Authorization": f"Bearer {API_KEY}"}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _big(size: int) -> bytes:
    return json.dumps({"prompt": "x" * size}).encode()


@pytest.mark.parametrize(
    ("function", "path"),
    [("ModelsFunction", "/v1/models"), ("ImagesFunction", "/v1/images/generations")],
)
def test_buffered_function_refuses_a_body_over_lambdas_6_mb(
    deployment: Deployment, function: str, path: str
) -> None:
    host = deployment.start(function)
    body = _big(7_000_000)
    headers = {**AUTH, "Content-Type": "application/json", "Content-Length": str(len(body))}
    event = rest_event("POST", path, routes_of(function), headers=headers, body=body)
    status, _, body = read(host.invoke(event))
    assert status == 413, body[:300]
    error = json.loads(body)["error"]
    assert error["code"] == "request_too_large"
    assert "AWS Lambda accepts at most 6 MB per request (6000000 bytes)" in error["message"]


def test_on_vercel_a_body_over_4_5_mb_gets_the_413(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERCEL", "1")
    app = load_file("functions/images/vercel_app.py").app

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vercel.test") as c:
            return await c.post(
                "/v1/images/generations",
                content=_big(5_000_000),
                headers={**AUTH, "Content-Type": "application/json"},
            )

    response = asyncio.run(call())
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "Vercel accepts at most 4.5 MB per request (4500000 bytes)" in message


def test_locally_the_48_mib_default_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "VERCEL", "GROKGATE_VERCEL", "AWS_LWA_INVOKE_MODE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert request_limit(settings) == limits.Limit(48 * 1024 * 1024)
    assert response_limit(settings) is None
    app = create_app(surfaces=("models",), settings=settings)
    (size,) = [m.kwargs["max_bytes"] for m in app.user_middleware if m.cls is limits.BodySizeLimit]
    assert size == 48 * 1024 * 1024


def test_limits_per_platform() -> None:
    lam = Settings(_env_file=None, AWS_LAMBDA_FUNCTION_NAME="f")  # type: ignore[call-arg]
    assert request_limit(lam) == limits.Limit(6_000_000, "AWS Lambda")
    assert response_limit(lam) == limits.Limit(6_000_000, "AWS Lambda")
    chat = Settings(
        _env_file=None,  # type: ignore[call-arg]
        AWS_LAMBDA_FUNCTION_NAME="chat",
        AWS_LWA_INVOKE_MODE="response_stream",
    )
    assert request_limit(chat).max_bytes == 6_000_000  # the request is still one invocation's
    assert response_limit(chat) == limits.Limit(200_000_000, "AWS Lambda")
    lower = Settings(
        _env_file=None,  # type: ignore[call-arg]
        AWS_LAMBDA_FUNCTION_NAME="f",
        max_body_bytes=1000,
    )
    assert request_limit(lower) == limits.Limit(1000)  # GROKGATE_MAX_BODY_BYTES is lower


def test_b64_json_over_the_response_limit_says_to_ask_for_url(
    make_gateway: GatewayFactory, sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "LAMBDA_PAYLOAD_BYTES", 1_000)  # the simulator's tiny pictures
    gw = make_gateway(AWS_LAMBDA_FUNCTION_NAME="grokgate-images")
    response = httpx.post(
        f"{gw.url}/v1/images/generations",
        json={"prompt": "a lighthouse", "n": 2, "response_format": "b64_json"},
        headers=AUTH,
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "response_too_large" and error["param"] == "response_format"
    message = error["message"]
    assert "AWS Lambda delivers at most 0.001 MB per response" in message
    assert 'Ask for response_format "url" instead' in message
    urls = message.split("These images were kept: ")[1].split()
    assert len(urls) == 2
    made = {asset.data for asset in sim.state.media.assets.values()}
    for url in urls:
        got = httpx.get(url, timeout=10)
        assert got.status_code == 200 and got.content in made
    small = httpx.post(  # url answers are small: unchanged
        f"{gw.url}/v1/images/generations",
        json={"prompt": "a lighthouse", "response_format": "url"},
        headers=AUTH,
        timeout=30,
    )
    assert small.status_code == 200 and small.json()["data"][0]["url"]
