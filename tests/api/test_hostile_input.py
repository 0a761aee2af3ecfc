"""Hostile input against a live gateway: every answer is served or a clean 4xx in the format of
the path's API, never a 500; injected headers never come back; secrets never leak."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from grokgate.api.app import create_app
from grokgate.api.json_text import lone_surrogate_at
from grokgate.simulator.proxies import ConnectProxy, ProxyThread
from grokgate.simulator.server import ServerThread
from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_server import Http2ServerThread
from grokgate.simulator.xai_state import XaiState
from tests.conftest import gateway_settings
from tests.support import ALL_TOKENS, API_KEY, GatewayFactory, Sim

AUTH = {"Authorization": f"Bearer {API_KEY}"}
JSON = {**AUTH, "Content-Type": "application/json"}
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"
JSON_PATHS = (CHAT, "/v1/responses", MESSAGES, "/v1/messages/count_tokens")
ALL_JSON_PATHS = (*JSON_PATHS, "/v1/images/generations", "/v1/videos")
MODEL = "grok-4.20-0309-non-reasoning"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def body_for(path: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    """A valid body for ``path`` whose user text is ``text``."""
    if path == "/v1/responses":
        return {"model": MODEL, "input": text, **extra}
    if path in ("/v1/images/generations", "/v1/videos"):
        return {"prompt": text, **extra}
    out: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
    if path == MESSAGES:
        out["max_tokens"] = 64
    return {**out, **extra}


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object of ``response``, checked against its API's format."""
    assert response.status_code < 500, response.text
    body = response.json()
    if response.request.url.path.startswith(MESSAGES):
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}, body
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str) and isinstance(error["type"], str)
    return error


def client_error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    return error


@pytest.fixture(scope="module")
def gateway(sim_server: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One gateway for the module: these tests change no state (faults are the last test's,
    on a gateway of its own)."""
    sim_server.state.reset()
    settings = gateway_settings(sim_server.url, tmp_path_factory.mktemp("hostile"))
    with ServerThread(create_app(settings=settings)) as server:
        yield server.url


@pytest.fixture
def post(gateway: str) -> Callable[..., httpx.Response]:
    def send(path: str, body: Any = None, *, raw: bytes | None = None, **kw: Any) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        headers = {**JSON, **kw.pop("headers", {})}
        return httpx.post(f"{gateway}{path}", content=content, headers=headers, timeout=30, **kw)

    return send


# --- the shape of the body ------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_JSON_PATHS)
def test_deeply_nested_json_is_a_400(post: Callable[..., httpx.Response], path: str) -> None:
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        client_error(post(path, raw=raw))
    nested: Any = "deep"
    for _ in range(200):  # deep but parseable: served or refused, never a crash
        nested = {"x": [nested]}
    assert post(path, body_for(path, metadata=nested)).status_code in (200, 400)


@pytest.mark.parametrize("path", ALL_JSON_PATHS)
@pytest.mark.parametrize("raw", [b"", b" ", b'"a string"', b"42", b"null", b"[]", b"true", b"\xff"])
def test_a_body_that_is_not_an_object_is_a_400(
    post: Callable[..., httpx.Response], path: str, raw: bytes
) -> None:
    client_error(post(path, raw=raw))


@pytest.mark.parametrize("path", (*ALL_JSON_PATHS, "/v1/images/edits"))
@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "x/y; a=b"]
)
def test_wrong_content_types_are_clean(
    post: Callable[..., httpx.Response], path: str, ctype: str
) -> None:
    answer = post(path, body_for(path), headers={"Content-Type": ctype})
    assert answer.status_code in (200, 400, 415), answer.text
    if answer.status_code != 200:
        error_of(answer)


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [10**9, -1, 0, 2**70, -(2**70), 1.5, "2"])
def test_huge_or_odd_n_is_a_400(post: Callable[..., httpx.Response], n: object) -> None:
    assert client_error(post(CHAT, body_for(CHAT, n=n)))["param"] == "n"
    if n != "2":  # a numeric string is coerced: 2 pictures are fine
        answer = post("/v1/images/generations", body_for("/v1/images/generations", n=n))
        assert client_error(answer)["param"] == "n"


@pytest.mark.parametrize("path", [CHAT, MESSAGES, "/v1/responses"])
@pytest.mark.parametrize("value", [2**31, 10**18, 2**70, -1, 0, 1e308, "many"])
def test_huge_max_tokens_is_served_or_a_400(
    post: Callable[..., httpx.Response], path: str, value: object
) -> None:
    field = "max_output_tokens" if path == "/v1/responses" else "max_tokens"
    answer = post(path, {**body_for(path), field: value})
    if answer.status_code != 200:
        assert field in client_error(answer)["message"] + str(error_of(answer).get("param"))
    else:
        assert isinstance(value, int) and value > 0


# --- pictures -------------------------------------------------------------------------------

BAD_IMAGES = {
    "invalid base64": "!!!not base64!!!",
    "truncated base64": base64.b64encode(PNG).decode()[:-7],
    "not an image": base64.b64encode(b"just some text, not a PNG at all").decode(),
    "empty": "",
    "padding only": "====",
}


def openai_image(data: str, mime: str = "image/png") -> dict[str, Any]:
    part = {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    return {"model": MODEL, "messages": [{"role": "user", "content": [part]}]}


def anthropic_image(data: str, mime: str = "image/png") -> dict[str, Any]:
    source = {"type": "base64", "media_type": mime, "data": data}
    message = {"role": "user", "content": [{"type": "image", "source": source}]}
    return {"model": MODEL, "max_tokens": 16, "messages": [message]}


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_invalid_images_are_a_400_naming_the_part(
    post: Callable[..., httpx.Response], kind: str
) -> None:
    data = BAD_IMAGES[kind]
    error = client_error(post(CHAT, openai_image(data)))
    assert error["param"] == "messages[0].content[0].image_url"
    error = client_error(post(MESSAGES, anthropic_image(data)))
    assert error["message"].startswith("messages[0].content[0].source")


def test_a_valid_image_passes_and_odd_data_urls_are_refused(
    post: Callable[..., httpx.Response],
) -> None:
    good = base64.b64encode(PNG).decode()
    assert post(CHAT, openai_image(good)).status_code == 200
    assert post(MESSAGES, anthropic_image(good)).status_code == 200
    for url in ("data:image/png,raw", "data:", "data:;base64,", "javascript:alert(1)", "x" * 5000):
        body = openai_image("")
        body["messages"][0]["content"][0]["image_url"]["url"] = url
        client_error(post(CHAT, body))
    client_error(post(MESSAGES, anthropic_image(BAD_IMAGES["not an image"], mime="text/html")))


def test_multipart_junk_is_a_400(gateway: str) -> None:
    for files in (
        {"image": ("a.png", b"not a png", "image/png")},
        {"image": ("a.png", b"", "image/png")},
        {"mask": ("m.png", PNG, "image/png"), "image": ("a.png", PNG, "image/png")},
    ):
        answer = httpx.post(
            f"{gateway}/v1/images/edits", data={"prompt": "p"}, files=files, headers=AUTH
        )
        client_error(answer)
    broken = httpx.post(
        f"{gateway}/v1/images/edits",
        content=b"--b\r\nContent-Disposition: form-data; name=",
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"},
    )
    client_error(broken)


@pytest.mark.parametrize("junk", [b"\xed\xa0\x80", b"\xff\xfe", b"a\x00b"])
def test_multipart_text_that_is_not_utf8_is_served(gateway: str, junk: bytes) -> None:
    head = b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n' + junk
    image = b'\r\n--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
    body = head + image + b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--b--\r\n"
    headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=b"}
    answer = httpx.post(f"{gateway}/v1/images/edits", content=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text


# --- unicode --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_JSON_PATHS)
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\udc00b", "\\ud83d", "\\ude00\\ud83d"])
def test_lone_surrogates_are_a_400(
    post: Callable[..., httpx.Response], path: str, escape: str
) -> None:
    raw = json.dumps(body_for(path, "PLACEHOLDER")).replace("PLACEHOLDER", escape).encode()
    error = client_error(post(path, raw=raw))
    assert "surrogate" in error["message"]
    in_key = json.dumps(body_for(path))[:-1] + f', "{escape}": 1}}'  # in a key, too
    client_error(post(path, raw=in_key.encode()))


def test_lone_surrogates_are_found_at_any_depth_and_named() -> None:
    assert lone_surrogate_at({"a": ["ok", "😀", {"b": "x\ud800"}]}) == "a[2].b"
    assert lone_surrogate_at({"k\udc00": 1}) == ""  # a bad key: its object is named
    assert lone_surrogate_at("\udfff") == ""
    deep: Any = "\ud800"
    for _ in range(5000):  # deeper than the recursion limit: the walk is iterative
        deep = [deep]
    assert lone_surrogate_at(deep) == "[0]" * 5000
    assert lone_surrogate_at({"a": ["ok", "😀", 1, None, 2.5, {"b": "e\u0301"}]}) is None


@pytest.mark.parametrize("path", [CHAT, MESSAGES, "/v1/responses"])
def test_paired_surrogates_are_one_character(
    post: Callable[..., httpx.Response], path: str
) -> None:
    raw = json.dumps(body_for(path, "smile 😀"), ensure_ascii=True).encode()  # \ud83d\ude00
    answer = post(path, raw=raw)
    assert answer.status_code == 200 and "😀" in answer.text


EDGE_TEXTS = {
    "nul": "a\x00b",
    "rtl marks": "\u202eevil\u202c \u200f\u200e",
    "emoji": "😀🏳️‍🌈👩🏽‍💻" * 50,
    "combining": "e" + "\u0301" * 2000,
    "long word": "x" * 200_000,
    "bom and zero width": "\ufeff\u200b\u2060text",
    "noncharacters": "\uffff\U0010ffff",
}


@pytest.mark.parametrize("path", ALL_JSON_PATHS)
@pytest.mark.parametrize("kind", list(EDGE_TEXTS))
def test_unicode_edge_cases_are_served_or_refused_cleanly(
    post: Callable[..., httpx.Response], path: str, kind: str
) -> None:
    answer = post(path, body_for(path, EDGE_TEXTS[kind]))
    if answer.status_code != 200:
        client_error(answer)
    elif path in (CHAT, MESSAGES):  # the simulator echoes what it was sent
        out = answer.json()
        text = (
            out["choices"][0]["message"]["content"] if path == CHAT else out["content"][0]["text"]
        )
        assert EDGE_TEXTS[kind][:20].replace("\x00", "") in text.replace("\x00", "")


# --- header injection -----------------------------------------------------------------------

EVIL_MODELS = ["grok-4\r\nX-Evil: 1", "grok-4\nX-Evil: 1", "grok-4%0d%0aX-Evil:%201", "m" * 100_000]


@pytest.mark.parametrize("path", JSON_PATHS)
@pytest.mark.parametrize("model", EVIL_MODELS)
def test_model_names_cannot_inject_headers(
    post: Callable[..., httpx.Response], path: str, model: str
) -> None:
    answer = post(path, {**body_for(path), "model": model})
    assert answer.status_code == 404, answer.text
    assert error_of(answer)["message"]
    assert "x-evil" not in answer.headers
    assert all("\r" not in v and "\n" not in v for v in answer.headers.values())
    assert len(answer.content) < 2000  # the name is not echoed back whole


def test_model_ids_in_paths_cannot_inject_headers(gateway: str) -> None:
    for model in ("grok-4%0d%0aX-Evil:%201", "grok-4%0AX-Evil:%201", "%00", "m" * 8000):
        answer = httpx.get(f"{gateway}/v1/models/{model}", headers=AUTH)
        assert answer.status_code == 404, answer.text
        error_of(answer)
        assert "x-evil" not in answer.headers
    assert httpx.get(f"{gateway}/v1/models/{MODEL}", headers=AUTH).status_code == 200


# --- secrets --------------------------------------------------------------------------------

XAI_KEYS = ("xai-secret-key-1-0123456789abcdef", "xai-secret-key-2-0123456789abcdef")
CF_SECRET = "cf-clearance-secret-4242"
PROXY_SECRET = "proxy-pa55word-8181"
SECRET_PATTERN = re.compile(r"sso(-rw)?=[^;\s\"']{6}")  # a cookie value, masked or not


def test_secrets_never_appear_in_logs_errors_or_headers(
    make_gateway: GatewayFactory,
    sim: Sim,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def keep(answer: httpx.Response) -> None:
        seen.append(answer.text)
        seen.extend(f"{k}: {v}" for k, v in answer.headers.multi_items())

    fake = XaiState([XAI_KEYS[0]])  # the second key is unknown upstream: a 401 there
    proxy = ProxyThread(ConnectProxy(username="gg", password=PROXY_SECRET))
    with Http2ServerThread(create_xai_app(fake), tls=True) as xai, proxy:
        gw = make_gateway(
            cf_cookies=f"cf_clearance={CF_SECRET}",
            xai_base_url=xai.url,
            xai_ca_file=xai.ca_file,
            xai_api_keys=",".join(XAI_KEYS),
            proxies=proxy.url,  # every grok.com call through a proxy with a password
            proxy_rest_seconds=0.01,
            proxy_dead_after=100,
        )
        with httpx.Client(base_url=gw.url, headers=JSON, timeout=30) as c:
            proxy.kill()  # the proxy's failures are logged and answered too
            keep(c.post(CHAT, json=body_for(CHAT)))
            keep(c.post(MESSAGES, json=body_for(MESSAGES)))
            proxy.start()
            time.sleep(0.05)
            for fault in ("401", "403_blocked", "403_cf", "429", "500", "cut"):
                for token in ALL_TOKENS:
                    sim.state.inject(token, fault)
                keep(c.post(CHAT, json=body_for(CHAT)))
                keep(c.post(MESSAGES, json=body_for(MESSAGES)))
                sim.state.clear_faults()
            for fault in ("500", "429", "cut"):
                fake.inject(XAI_KEYS[0], fault, times=2)
                keep(c.post(CHAT, json={**body_for(CHAT), "model": "grok-4"}))
                keep(c.post(MESSAGES, json={**body_for(MESSAGES), "model": "grok-4"}))
            keep(c.post(CHAT, json={**body_for(CHAT), "model": "grok-4", "stream": True}))
            keep(c.post(CHAT, json={"model": ALL_TOKENS[0], "messages": []}))
            keep(c.post(CHAT, content=b"[" * 50_000))
            keep(c.post(CHAT, json=body_for(CHAT, f"my token is {ALL_TOKENS[0]}")))
            for wrong in ("sk-secret-attempt-999", API_KEY[:-1], API_KEY + "x"):
                keep(c.get("/v1/models", headers={"Authorization": f"Bearer {wrong}"}))
                keep(c.post(MESSAGES, json=body_for(MESSAGES), headers={"x-api-key": wrong}))

    out, err = capfd.readouterr()
    captured = "\n".join([caplog.text, out, err, *seen])
    assert "account" in caplog.text and "401" in caplog.text  # the failures were logged...
    assert "egress proxy" in caplog.text
    secrets = (*ALL_TOKENS[:2], API_KEY, CF_SECRET, *XAI_KEYS, "sk-secret-attempt-999")
    secrets = (*secrets, PROXY_SECRET)
    for secret in secrets:  # ...without the secrets (the echoed prompt is the client's own)
        leaks = [line for line in captured.splitlines() if secret in line and "Echo:" not in line]
        assert not leaks, f"{secret[:8]}… leaked: {leaks[:3]}"
    assert not SECRET_PATTERN.search(captured)


def test_query_parameter_errors_name_the_parameter(gateway: str) -> None:
    for query, param in (("order=sideways", "order"), ("limit=lots", "limit")):
        answer = httpx.get(f"{gateway}/v1/videos?{query}", headers=AUTH)
        assert client_error(answer)["param"] == param
