"""Big JSON bodies are parsed once, in a worker thread, by a parser that holds the GIL briefly
(``parse_body``: pydantic-core's, ~4x faster than ``json``), with ``json``'s exact answers and
errors; small bodies keep ``json`` on the loop."""

from __future__ import annotations

import codecs
import json
import math
import threading
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.api import json_text
from grokgate.api.deps import OFF_LOOP_BYTES
from grokgate.api.json_text import JsonBodyRoute, parse_body, valid_json_text
from grokgate.core import usage

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def outcome(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "value", parse(raw)
    except json.JSONDecodeError as exc:
        return "JSONDecodeError", (exc.msg, exc.pos)
    except RecursionError:
        return "RecursionError", None
    except UnicodeDecodeError as exc:
        return "UnicodeDecodeError", str(exc)


@settings(max_examples=300, deadline=None)
@given(values, st.booleans(), st.sampled_from(["", "utf-8-sig", "utf-16", "utf-32"]))
def test_answers_as_json_does(value: Any, ascii_only: bool, encoding: str) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    raw = text.encode(encoding) if encoding else text.encode()
    assert same(parse_body(raw), json.loads(raw))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_bytes_give_what_json_gives(raw: bytes) -> None:
    mine, theirs = outcome(parse_body, raw), outcome(json.loads, raw)
    assert mine[0] == theirs[0]
    if mine[0] == "value":
        assert same(mine[1], theirs[1])
    else:
        assert mine[1] == theirs[1]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":"\\ud800"}',  # a lone surrogate: json decodes it (valid_json_text names it)
        b'{"a":"\xed\xa0\x80"}',
        codecs.BOM_UTF8 + b'{"a":1}',
        b"[" * 300 + b"]" * 300,  # deeper than pydantic-core's limit, within json's
        b"[" * 100_000 + b"]" * 100_000,  # json's RecursionError
        b'{"a":1} x',
        b'{"a":NaN,"b":-Infinity,"c":1e400}',
    ],
)
def test_edge_cases(raw: bytes) -> None:
    mine, theirs = outcome(parse_body, raw), outcome(json.loads, raw)
    assert mine[0] == theirs[0]
    assert same(mine[1], theirs[1]) if mine[0] == "value" else mine[1] == theirs[1]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads ``parse_body`` ran in, one entry per call."""
    seen: list[int] = []
    real = json_text.parse_body

    def spy(raw: bytes) -> Any:
        seen.append(threading.get_ident())
        return real(raw)

    monkeypatch.setattr(json_text, "parse_body", spy)
    return seen


def app_seeing(bodies: list[Any]) -> FastAPI:
    router = APIRouter(route_class=JsonBodyRoute)

    @router.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, int]:
        bodies.append(body)
        return {"keys": len(body)}

    app = FastAPI()
    app.include_router(router, dependencies=[Depends(valid_json_text)])
    return app


async def post(app: FastAPI, raw: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/echo", content=raw, headers={"content-type": "application/json"})


async def test_a_big_body_is_parsed_once_off_the_loop(parses: list[int]) -> None:
    bodies: list[Any] = []
    raw = json.dumps({"messages": ["x" * 1000] * (OFF_LOOP_BYTES // 1000 + 10)}).encode()
    reply = await post(app_seeing(bodies), raw)
    assert reply.status_code == 200, reply.text
    assert bodies == [json.loads(raw)]
    assert len(parses) == 1  # FastAPI's parse and valid_json_text's are one
    assert parses[0] != threading.get_ident()


async def test_a_small_body_stays_on_the_loop(parses: list[int]) -> None:
    bodies: list[Any] = []
    reply = await post(app_seeing(bodies), b'{"a": 1}')
    assert reply.status_code == 200
    assert bodies == [{"a": 1}]
    assert parses == []  # json.loads, on the loop: no thread hop for a small body


async def test_a_big_bad_body_is_still_a_json_error(parses: list[int]) -> None:
    raw = b'{"messages": [' + b'"x",' * OFF_LOOP_BYTES + b"]}"
    reply = await post(app_seeing([]), raw)
    assert reply.status_code == 422  # FastAPI's json_invalid (grokgate renders it as a 400)
    assert reply.json()["detail"][0]["type"] == "json_invalid"
    assert len(parses) == 1 and parses[0] != threading.get_ident()


async def test_a_long_text_is_counted_and_wrapped_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []

    class Spy(usage.CountedText):
        def __new__(cls, text: str) -> Spy:
            made.append(threading.get_ident())
            return super().__new__(cls, text)

    monkeypatch.setattr(usage, "CountedText", Spy)
    text = "word " * (usage.OFF_LOOP_CHARS // 4)
    out = await usage.counted(text)
    assert out == text and usage.count_tokens(out) == usage.count_tokens(str(text))
    assert made and made[0] != threading.get_ident()  # the 15 MB copy is not on the loop
