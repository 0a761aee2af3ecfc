"""Every error of the client surface, as the openai SDK sees it (status, class, body)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.sdk import openai_client as client
from tests.support import ALL_TOKENS, API_KEY, GatewayFactory, Sim

MSG = [{"role": "user", "content": "hi"}]


def assert_openai_error(body: object, *, type_: str, code: str | None = None) -> dict:
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["type"] == type_
    if code is not None:
        assert body["code"] == code
    return body


def test_bad_json_is_400(gateway: str) -> None:
    resp = httpx.post(
        f"{gateway}/v1/chat/completions",
        content=b'{"model": "grok-4.20-fast", "messages": [',
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert_openai_error(resp.json()["error"], type_="invalid_request_error", code="invalid_json")


def test_body_that_is_not_an_object_is_400(gateway: str) -> None:
    resp = httpx.post(
        f"{gateway}/v1/chat/completions",
        json=["not", "an", "object"],
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert resp.status_code == 400
    assert_openai_error(resp.json()["error"], type_="invalid_request_error")


def test_missing_model_is_400(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).chat.completions.create(model=openai.omit, messages=MSG)  # type: ignore[arg-type]
    assert info.value.status_code == 400
    body = assert_openai_error(info.value.body, type_="invalid_request_error", code="missing_model")
    assert body["param"] == "model"


def test_unknown_model_is_404(gateway: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client(gateway).chat.completions.create(model="gpt-9-imaginary", messages=MSG)  # type: ignore[arg-type]
    body = assert_openai_error(
        info.value.body, type_="invalid_request_error", code="model_not_found"
    )
    assert body["param"] == "model" and "gpt-9-imaginary" in body["message"]
    with pytest.raises(openai.NotFoundError):
        client(gateway).models.retrieve("gpt-9-imaginary")


def test_empty_messages_is_400(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).chat.completions.create(model="grok-4.20-fast", messages=[])
    body = assert_openai_error(info.value.body, type_="invalid_request_error")
    assert body["param"] == "messages"


def test_invalid_message_role_is_400_with_param(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).chat.completions.create(
            model="grok-4.20-fast",
            messages=[{"role": "wizard", "content": "x"}],  # type: ignore[list-item]
        )
    body = assert_openai_error(info.value.body, type_="invalid_request_error")
    assert body["param"] == "messages[0].role"


@pytest.mark.parametrize("key", ["sk-wrong-key", ""])
def test_bad_or_missing_key_is_401(gateway: str, key: str) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client(gateway, key=key or "x").models.list()
    if key == "":
        resp = httpx.get(f"{gateway}/v1/models")
        assert resp.status_code == 401
        assert_openai_error(resp.json()["error"], type_="invalid_request_error")
    body = assert_openai_error(
        info.value.body, type_="invalid_request_error", code="invalid_api_key"
    )
    assert API_KEY not in body["message"] and "sk-wrong" not in body["message"]


def test_anthropic_style_x_api_key_is_accepted(gateway: str) -> None:
    resp = httpx.get(f"{gateway}/v1/models", headers={"x-api-key": API_KEY})
    assert resp.status_code == 200


def test_wrong_method_is_405(gateway: str) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client(gateway).get("/chat/completions", cast_to=object)
    assert info.value.status_code == 405
    assert_openai_error(info.value.body, type_="invalid_request_error", code="method_not_allowed")


def test_unknown_path_is_404_in_openai_format(gateway: str) -> None:
    resp = httpx.get(f"{gateway}/v1/nothing-here", headers={"Authorization": f"Bearer {API_KEY}"})
    assert resp.status_code == 404
    assert_openai_error(resp.json()["error"], type_="invalid_request_error", code="unknown_url")


def test_no_account_available_is_503_with_retry_after(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(sso_tokens="")
    with pytest.raises(openai.InternalServerError) as info:
        client(gw.url).chat.completions.create(model="grok-4.20-fast", messages=MSG)
    assert info.value.status_code == 503
    assert int(info.value.response.headers["retry-after"]) >= 1
    assert_openai_error(info.value.body, type_="server_error", code="no_account_available")


def test_upstream_failure_is_502_never_an_empty_200(gateway: str, sim: Sim) -> None:
    for token in ALL_TOKENS:
        sim.state.inject(token, "500", times=-1)
    for stream in (False, True):
        with pytest.raises(openai.InternalServerError) as info:
            out = client(gateway).chat.completions.create(
                model="grok-4.20-fast", messages=MSG, stream=stream
            )
            if stream:
                list(out)  # type: ignore[arg-type]
        assert info.value.status_code == 502
        assert_openai_error(info.value.body, type_="server_error", code="upstream_error")


def test_error_after_stream_began_is_a_final_error_event(gateway: str, sim: Sim) -> None:
    for token in ALL_TOKENS:
        sim.state.inject(token, "cut", times=-1, after=5)
    stream = client(gateway).chat.completions.create(
        model="grok-4.20-fast", messages=[{"role": "user", "content": "a b c d e f g"}], stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    assert "".join(received).startswith("Echo:")
    assert isinstance(info.value.body, dict)
    assert_openai_error(info.value.body, type_="server_error")


def test_cors_preflight_and_headers(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(cors_origins="*").url  # off by default (tests/api/test_exposure.py)
    resp = httpx.options(
        f"{gateway}/v1/chat/completions",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "POST" in resp.headers["access-control-allow-methods"]
    got = httpx.get(
        f"{gateway}/v1/models",
        headers={"Origin": "https://app.example", "Authorization": f"Bearer {API_KEY}"},
    )
    assert got.headers["access-control-allow-origin"] == "*"


def test_health_needs_no_key(gateway: str) -> None:
    resp = httpx.get(f"{gateway}/health")
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
