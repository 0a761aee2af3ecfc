"""Who may use a gateway: an open one (no API keys) serves loopback clients under loopback host
names only, CORS is off unless configured, and no answer is built from the Host header.

A remote client is played by a loopback one sending ``X-Forwarded-For``: uvicorn trusts it from
127.0.0.1 (as from a reverse proxy on the same machine), so the app sees the forwarded address.
"""

from __future__ import annotations

import httpx
import pytest

from grokgate.config import Settings
from tests.support import API_KEY, GatewayFactory

AUTH = {"authorization": f"Bearer {API_KEY}"}
REMOTE = {"x-forwarded-for": "203.0.113.7"}
MESSAGE = {
    "model": "grok-4.20-fast",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "x"}],
}
CHAT = {"model": "grok-4.20-fast", "messages": [{"role": "user", "content": "x"}]}


def assert_openai(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error" and error["message"]


def assert_anthropic(resp: httpx.Response, status: int, type_: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == type_ and body["error"]["message"]


def test_open_gateway_serves_loopback_clients_only(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(api_keys="")
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        assert client.get("/v1/models").status_code == 200  # loopback, no key needed
        assert_openai(client.get("/v1/models", headers=REMOTE), 403, "loopback_only")
        refused = client.post("/v1/chat/completions", json=CHAT, headers=REMOTE)
        assert_openai(refused, 403, "loopback_only")
        refused = client.post("/v1/messages", json=MESSAGE, headers=REMOTE)
        assert_anthropic(refused, 403, "permission_error")
        assert client.get("/health", headers=REMOTE).status_code == 200


def test_keyed_gateway_serves_remote_clients_and_any_host(make_gateway: GatewayFactory) -> None:
    gw = make_gateway()
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        headers = {**AUTH, **REMOTE, "host": "gateway.example.com"}
        assert client.get("/v1/models", headers=headers).status_code == 200
        assert client.get("/v1/models", headers={**REMOTE}).status_code == 401


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
def test_open_gateway_refuses_foreign_host_names(make_gateway: GatewayFactory, host: str) -> None:
    gw = make_gateway(api_keys="")
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        assert_openai(client.get("/v1/models", headers={"host": host}), 400, "invalid_host")
        refused = client.post("/v1/messages", json=MESSAGE, headers={"host": host})
        assert_anthropic(refused, 400, "invalid_request_error")
        for good in ("localhost", "LOCALHOST:1234", "127.0.0.1:80", "[::1]:8000"):
            assert client.get("/v1/models", headers={"host": good}).status_code == 200, good


def test_host_allow_list_comes_before_auth(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(allowed_hosts="api.example.com, localhost:9")
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        for host in ("other.example", "localhost", "localhost:10", "127.0.0.1"):
            assert_openai(client.get("/v1/models", headers={"host": host}), 400, "invalid_host")
        assert client.get("/v1/models", headers={"host": "api.example.com:443"}).status_code == 401
        ok = client.get("/v1/models", headers={**AUTH, "host": "localhost:9"})
        assert ok.status_code == 200


def test_cors_is_off_unless_configured(make_gateway: GatewayFactory) -> None:
    preflight = {
        "origin": "https://page.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    for gw in (make_gateway(), make_gateway(api_keys="")):
        answer = httpx.options(f"{gw.url}/v1/chat/completions", headers=preflight, timeout=10)
        assert "access-control-allow-origin" not in answer.headers
        got = httpx.get(
            f"{gw.url}/v1/models", headers={**AUTH, "origin": "https://page.example"}, timeout=10
        )
        assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
    star = make_gateway(cors_origins="*")
    answer = httpx.options(f"{star.url}/v1/chat/completions", headers=preflight, timeout=10)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/v1/models/", "/v1/chat/completions/", "/v1/messages/"])
def test_no_location_is_built_from_the_host_header(make_gateway: GatewayFactory, path: str) -> None:
    gw = make_gateway()
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        for method in ("GET", "POST"):
            answer = client.request(method, path, headers={**AUTH, "host": "evil.example"})
            assert "evil" not in answer.headers.get("location", ""), answer.headers
            assert "evil" not in answer.text
            assert 400 <= answer.status_code < 500, answer.status_code  # never a redirect


def test_defaults_follow_the_api_keys() -> None:
    open_ = Settings(_env_file=None)
    assert open_.cors_origins == [] and open_.allowed_host_list == [
        "localhost",
        "127.0.0.1",
        "[::1]",
    ]
    keyed = Settings(_env_file=None, api_keys="k")
    assert keyed.cors_origins == [] and keyed.allowed_host_list == ["*"]
    chosen = Settings(_env_file=None, allowed_hosts="API.example.com,*", cors_origins="*")
    assert chosen.allowed_host_list == ["api.example.com", "*"] and chosen.cors_origins == ["*"]


def test_host_and_client_checks() -> None:
    from grokgate.api.guards import host_allowed, is_loopback, split_host

    assert split_host("Example.COM:8000") == ("example.com", "8000")
    assert split_host("[::1]:9") == ("[::1]", "9") and split_host("[::1]") == ("[::1]", None)
    assert host_allowed("localhost:5", ["localhost"]) and not host_allowed(None, ["localhost"])
    assert not host_allowed("localhost:5", ["localhost:6"]) and host_allowed("x", ["*"])
    assert not host_allowed("127.0.0.1.evil.example", ["127.0.0.1"])
    for client in (("127.0.0.1", 1), ("127.8.9.10", 1), ("::1", 1), ("::ffff:127.0.0.1", 1)):
        assert is_loopback(client), client
    for client in (("10.0.0.1", 1), ("::ffff:10.0.0.1", 1), ("testclient", 1), None):
        assert not is_loopback(client), client
