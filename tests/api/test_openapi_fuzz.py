"""Property-based fuzz of every operation in the app's OpenAPI (schemathesis), live on loopback.

Each operation gets valid and invalid requests (bodies, path and query parameters, extra
headers) built from its schema. Whatever is sent: never a 5xx (the simulator is healthy, so a
5xx is the gateway's bug), every error in the format of the API the path belongs to, every
answer within a bounded time. The schema is the app's own, with the bodies that routes read by
hand (Anthropic's, videos, image edits) described so the fuzz reaches past "not a JSON object".
Generation is derandomized: a run is reproducible, and CI sees the same cases every time.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from schemathesis import GenerationMode

from grokgate.api.anthropic.schemas import CountTokensRequest, MessagesRequest
from grokgate.api.app import create_app
from grokgate.api.openai.video_schemas import VideoCreateRequest
from grokgate.simulator.server import ServerThread
from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_server import Http2ServerThread
from grokgate.simulator.xai_state import XaiState
from tests.conftest import gateway_settings
from tests.support import API_KEY, Sim

EXAMPLES = 25  # per operation (valid and invalid): 15 operations, the module in ~15 s
TIMEOUT = 20.0  # seconds for one answer, streamed ones included
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _body_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON schema with its definitions moved into the OpenAPI components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    return schema


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


# Models the gateway serves, per operation: positive cases use them (and so reach the simulator
# and the fake xAI API), negative ones anything else. grok-4 and grok-2-image-1212 are xAI's.
CHAT_MODELS = ["grok-4.20-0309-non-reasoning", "grok-4.20-0309", "grok-4.20-fast", "grok-4"]
MODELS = {
    "/v1/chat/completions": [*CHAT_MODELS, "grok-imagine-image-lite"],
    "/v1/responses": CHAT_MODELS,
    "/v1/messages": CHAT_MODELS,
    "/v1/messages/count_tokens": CHAT_MODELS,
    "/v1/images/generations": [
        "grok-imagine-image",
        "grok-imagine-image-lite",
        "grok-2-image-1212",
    ],
    "/v1/images/edits": ["grok-imagine-image-edit"],
    "/v1/videos": ["grok-imagine-video"],
}
XAI_KEY = "xai-fuzz-key-0123456789abcdefghij"
EDIT_FORM = {
    "type": "object",
    "required": ["image", "prompt"],
    "properties": {
        "image": {"type": "string", "format": "binary"},
        "prompt": {"type": "string"},
        "model": {"type": "string"},
        "n": {"type": "integer"},
        "size": {"type": "string"},
        "response_format": {"type": "string", "enum": ["url", "b64_json"]},
    },
}


def _with_models(schema: dict[str, Any], models: list[str]) -> dict[str, Any]:
    out = dict(schema)
    out["properties"] = {**out["properties"], "model": {"type": "string", "enum": models}}
    out["required"] = sorted({*out.get("required", []), "model"})
    return out


def fuzzable_openapi(raw: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI, with the bodies that routes validate by hand described (Anthropic's,
    videos, image edits) and ``model`` limited to served models."""
    components = raw.setdefault("components", {}).setdefault("schemas", {})
    paths = raw["paths"]
    by_hand: dict[str, type[BaseModel]] = {
        "/v1/messages": MessagesRequest,
        "/v1/messages/count_tokens": CountTokensRequest,
        "/v1/videos": VideoCreateRequest,
    }
    for path, model in by_hand.items():
        paths[path]["post"]["requestBody"] = _json_body(_body_schema(model, components))
    paths["/v1/images/edits"]["post"]["requestBody"] = {
        "required": True,
        "content": {"multipart/form-data": {"schema": EDIT_FORM}},
    }
    for path, models in MODELS.items():
        for content in paths[path]["post"]["requestBody"]["content"].values():
            schema = content["schema"]
            if "$ref" in schema:  # FastAPI's own: a copy, the component stays as it is
                schema = components[schema["$ref"].rsplit("/", 1)[1]]
            content["schema"] = _with_models(schema, models)
    return raw


@pytest.fixture(scope="module")
def fake_xai() -> Iterator[tuple[str, str]]:
    """The fake xAI API (HTTP/2, TLS): its URL and CA file."""
    with Http2ServerThread(create_xai_app(XaiState([XAI_KEY])), tls=True) as server:
        assert server.ca_file is not None
        yield server.url, server.ca_file


@pytest.fixture(scope="module")
def fuzz_gateway(
    sim_server: Sim, fake_xai: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One gateway for the whole fuzz, with short timeouts so nothing can hang for long."""
    sim_server.state.reset()
    settings_ = gateway_settings(
        sim_server.url,
        tmp_path_factory.mktemp("fuzz"),
        xai_base_url=fake_xai[0],
        xai_ca_file=fake_xai[1],
        xai_api_keys=XAI_KEY,
        request_deadline=TIMEOUT / 2,
        idle_timeout=TIMEOUT / 4,
    )
    with ServerThread(create_app(settings=settings_)) as server:
        yield server.url
    sim_server.state.reset()


@functools.cache
def fuzz_schema() -> Any:
    """The schemathesis schema (built on first use: at collection, never at import)."""
    app = create_app(settings=gateway_settings("http://127.0.0.1:9", Path("unused")))
    return schemathesis.openapi.from_dict(fuzzable_openapi(app.openapi()))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per operation of the app's OpenAPI: a new route is fuzzed without a word."""
    if "operation" in metafunc.fixturenames:
        paths = fuzz_schema().raw_schema["paths"]
        ops = [(method.upper(), path) for path, item in paths.items() for method in item]
        metafunc.parametrize("operation", ops, ids=[f"{m} {p}" for m, p in ops])


def error_format_problem(path: str, status: int, text: str) -> str | None:
    """Why ``text`` is not an error body in the format of ``path``'s API (None when it is)."""
    try:
        body = json.loads(text)
    except ValueError:
        return f"not JSON: {text[:200]!r}"
    if not isinstance(body, dict):
        return f"not a JSON object: {text[:200]}"
    error = body.get("error")
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        ok = (
            body.get("type") == "error"
            and isinstance(error, dict)
            and isinstance(error.get("type"), str)
            and isinstance(error.get("message"), str)
        )
        return None if ok else f"not Anthropic's error format: {text[:300]}"
    ok = (
        isinstance(error, dict)
        and isinstance(error.get("message"), str)
        and isinstance(error.get("type"), str)
        and "code" in error
        and "param" in error
    )
    return None if ok else f"not OpenAI's error format: {text[:300]}"


def check_answer(path: str, status: int, text: str, elapsed: float) -> None:
    assert status < 500, f"{status} from {path}: {text[:500]}"
    assert elapsed < TIMEOUT, f"{path} took {elapsed:.1f}s"
    if status >= 400:
        problem = error_format_problem(path, status, text)
        assert problem is None, f"{status} from {path}: {problem}"


def test_error_format_checks_can_fail() -> None:
    """The checker itself: each format is refused on the other API's paths."""
    openai_body = json.dumps({"error": {"message": "m", "type": "t", "param": None, "code": None}})
    anthropic_body = json.dumps({"type": "error", "error": {"type": "t", "message": "m"}})
    assert error_format_problem("/v1/chat/completions", 400, openai_body) is None
    assert error_format_problem("/v1/messages", 400, anthropic_body) is None
    assert error_format_problem("/v1/messages", 400, openai_body) is not None
    assert error_format_problem("/v1/chat/completions", 400, anthropic_body) is not None
    assert error_format_problem("/v1/models", 400, "Internal Server Error") is not None
    assert error_format_problem("/v1/messages", 400, "[]") is not None
    with pytest.raises(AssertionError):
        check_answer("/v1/models", 500, openai_body, 0.1)
    with pytest.raises(AssertionError):
        check_answer("/v1/models", 200, "{}", TIMEOUT + 1)


def test_every_operation_is_fuzzed_with_served_models(fuzz_gateway: str) -> None:
    ops = {(m.upper(), p) for p, item in fuzz_schema().raw_schema["paths"].items() for m in item}
    assert len(ops) >= 15 and ("POST", "/v1/messages") in ops and ("GET", "/v1/videos") in ops
    served = httpx.get(f"{fuzz_gateway}/v1/models", headers=AUTH).json()["data"]
    assert {m for models in MODELS.values() for m in models} <= {m["id"] for m in served}


def test_operation_survives_generated_input(operation: tuple[str, str], fuzz_gateway: str) -> None:
    method, path = operation
    api = fuzz_schema()[path][method]
    cases = api.as_strategy(GenerationMode.POSITIVE) | api.as_strategy(GenerationMode.NEGATIVE)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def survives(case: Any) -> None:
        started = time.monotonic()
        response = case.call(base_url=fuzz_gateway, headers=AUTH, timeout=TIMEOUT)
        check_answer(case.path, response.status_code, response.text, time.monotonic() - started)

    survives()
