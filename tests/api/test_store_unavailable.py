"""A store that cannot be used is a 503 ``store_unavailable`` in the API's own error format,
never a bare 500, and no client error names a server path."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import API_KEY, GatewayFactory

MODEL = "grok-4.20-fast"


def _corrupt(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "grokgate.db").write_bytes(b"this is not an SQLite database\x00" * 256)


def _no_path(body: str, data_dir: Path) -> None:
    assert str(data_dir) not in body and "/tmp" not in body and "grokgate.db" not in body
    assert "Traceback" not in body


def test_a_corrupt_pool_file_is_a_503_store_unavailable_in_both_formats(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "corrupt"
    _corrupt(data_dir)
    gw = make_gateway(data_dir=data_dir)
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    openai = httpx.post(
        f"{gw.url}/v1/chat/completions",
        json=chat,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    assert openai.status_code == 503, openai.text
    assert openai.json()["error"]["code"] == "store_unavailable"
    _no_path(openai.text, data_dir)
    anthropic = httpx.post(
        f"{gw.url}/v1/messages",
        json={**chat, "max_tokens": 16},
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert anthropic.status_code == 503, anthropic.text
    body = anthropic.json()
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert "store is unavailable" in body["error"]["message"]  # (no code in that format)
    _no_path(anthropic.text, data_dir)


async def test_a_media_write_failure_names_no_path(tmp_path: Path) -> None:
    from grokgate.errors import StoreUnavailableError
    from grokgate.stores.media_local import LocalMediaStore

    root = tmp_path / "media"
    root.write_bytes(b"a file where the media folder should be")  # every write fails
    store = LocalMediaStore(root, b"s" * 32)
    try:
        await store.put("images/a.png", b"\x89PNG", "image/png")
    except StoreUnavailableError as exc:
        assert exc.status == 503 and exc.code == "store_unavailable"
        _no_path(exc.message, tmp_path)
    else:
        raise AssertionError("the write should have failed")
