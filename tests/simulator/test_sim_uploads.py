"""Simulator upload v2, chat fileAttachments, and the sample-file / redirect helper routes."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from grokgate.simulator.answers import files_note, final_text, rendered_text
from grokgate.simulator.state import CHAT_PATH, UPLOAD_PATH, SimUpload
from grokgate.simulator.uploads import sample_file, tiny_png

if TYPE_CHECKING:
    from conftest import Sim


def upload(
    sim: Sim, data: bytes, name: str = "cat.png", mime: str = "image/png", token: str = "tok-super"
) -> httpx.Response:
    return sim.http.post(
        UPLOAD_PATH,
        files={"file": (name, data, mime)},
        headers={"cookie": f"sso={token}; sso-rw={token}"},
    )


def chat_with(sim: Sim, ids: list[Any], token: str = "tok-super") -> httpx.Response:
    body = {"message": "[user]: what is this?", "modeId": "auto", "fileAttachments": ids}
    return sim.post(CHAT_PATH, body, token)


def test_upload_answers_the_v2_shape_and_stores_the_file(sim: Sim) -> None:
    png = tiny_png()
    response = upload(sim, png)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"uploadId", "terminalError", "fileMetadata"}
    assert body["terminalError"] is None and body["uploadId"]
    meta = body["fileMetadata"]
    file_id = meta["fileMetadataId"]
    assert meta["fileId"] == file_id
    user = sim.state.accounts["tok-super"].user_id
    assert meta["fileUri"] == f"users/{user}/{file_id}/content"
    stored = sim.state.uploads[file_id]
    assert (stored.token, stored.name, stored.mime, stored.data) == (
        "tok-super",
        "cat.png",
        "image/png",
        png,
    )
    (recorded,) = sim.state.upload_requests()
    assert recorded.body == {"name": "cat.png", "mime": "image/png", "size": len(png)}
    assert recorded.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "x-statsig-id" not in recorded.headers  # none needed


@pytest.mark.parametrize("cookie", [None, "sso=nobody; sso-rw=nobody", "sso=tok-super"])
def test_upload_needs_the_accounts_cookies(sim: Sim, cookie: str | None) -> None:
    headers = {"cookie": cookie} if cookie else {}
    response = sim.http.post(UPLOAD_PATH, files={"file": ("a.txt", b"hi")}, headers=headers)
    assert response.status_code == 401
    assert "invalid-credentials" in response.json()["error"]["message"]
    assert sim.state.uploads == {}


def test_empty_and_oversized_files_get_a_terminal_error(sim: Sim) -> None:
    empty = upload(sim, b"", "empty.txt", "text/plain").json()
    assert empty["terminalError"]["reason"] == "the file is empty"
    assert empty["fileMetadata"] is None
    sim.state.max_upload_bytes = 10
    big = upload(sim, b"x" * 11, "big.txt", "text/plain").json()
    assert "larger than 10 bytes" in big["terminalError"]["reason"]
    assert sim.state.uploads == {}
    assert upload(sim, b"x" * 10, "ok.txt", "text/plain").json()["terminalError"] is None


def test_a_request_without_a_file_part_is_400(sim: Sim) -> None:
    response = sim.http.post(
        UPLOAD_PATH, data={"other": "x"}, headers={"cookie": "sso=tok-super; sso-rw=tok-super"}
    )
    assert response.status_code == 400


def test_chat_lists_the_attached_files_in_its_answer(sim: Sim) -> None:
    png, text = tiny_png(), b"some notes\n"
    first = upload(sim, png).json()["fileMetadata"]["fileMetadataId"]
    second = upload(sim, text, "notes.txt", "text/plain").json()["fileMetadata"]["fileId"]
    frames = sim.frames(chat_with(sim, [first, second]))
    model = frames[-2]["result"]["response"]["modelResponse"]
    note = f" [files: cat.png (image/png, {len(png)} bytes); notes.txt (text/plain, 11 bytes)]"
    assert model["message"].endswith(note)
    assert model["fileAttachments"] == [first, second]
    finals = [f["result"]["response"] for f in frames if sim.kind(f) == "final"]
    assert "".join(t["token"] for t in finals) == model["message"]
    user = frames[1]["result"]["response"]["userResponse"]
    assert user["fileAttachments"] == [first, second]


def test_chat_with_unknown_or_foreign_files_is_400(sim: Sim) -> None:
    foreign = upload(sim, b"mine", "a.txt", "text/plain", token="tok-heavy").json()
    foreign_id = foreign["fileMetadata"]["fileMetadataId"]
    for ids in (["no-such-file"], [foreign_id]):
        response = chat_with(sim, ids)
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": 3,
            "message": f"file not found: {ids[0]}",
            "details": [],
        }
    bad = chat_with(sim, [1, 2])
    assert bad.status_code == 400 and "fileAttachments" in bad.json()["error"]["message"]
    assert sim.state.accounts["tok-super"].remaining["auto"] == 50  # no quota used


def test_reset_clears_uploads(sim: Sim) -> None:
    upload(sim, b"abc", "a.txt", "text/plain")
    assert sim.state.uploads
    sim.state.reset()
    assert sim.state.uploads == {}


def test_answers_without_files_are_unchanged() -> None:
    message = "[user]: hello"
    assert final_text(message) == final_text(message, []) == final_text(message, None)
    assert rendered_text("[user]: search x", None) == rendered_text("[user]: search x")
    upload_ = SimUpload("t", "a.pdf", "application/pdf", b"%PDF-", file_id="f1")
    assert files_note([upload_]) == " [files: a.pdf (application/pdf, 5 bytes)]"
    assert final_text(message, [upload_]).endswith("] [files: a.pdf (application/pdf, 5 bytes)]")
    searched = rendered_text("[user]: search x", [upload_])
    assert searched.startswith("Echo: [[1]](") and searched.endswith("5 bytes)]")


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IDAT":
            assert len(zlib.decompress(body)) == 2 * (1 + 2 * 3)
        kinds.append(kind)
        pos += 12 + length
    return kinds


@pytest.mark.parametrize(
    ("name", "mime", "magic"),
    [
        ("cat.png", "image/png", b"\x89PNG"),
        ("dog.JPG", "image/jpeg", b"\xff\xd8\xff"),
        ("paper.pdf", "application/pdf", b"%PDF-"),
        ("notes.txt", "text/plain; charset=utf-8", b"Hello from the grok simulator: notes.txt"),
    ],
)
def test_sample_files(sim: Sim, name: str, mime: str, magic: bytes) -> None:
    response = sim.http.get(f"/__sim/files/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == mime
    assert response.content.startswith(magic)
    assert response.content == sim.http.get(f"/__sim/files/{name}").content  # deterministic


def test_the_sample_png_is_valid() -> None:
    found = sample_file("x.png")
    assert found is not None
    assert _png_chunks(found[0]) == [b"IHDR", b"IDAT", b"IEND"]


def test_unknown_sample_files_are_404(sim: Sim) -> None:
    assert sim.http.get("/__sim/files/thing.exe").status_code == 404


def test_redirect_helper(sim: Sim) -> None:
    response = sim.http.get("/__sim/redirect", params={"to": "http://169.254.169.254/latest/"})
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest/"
    assert sim.http.get("/__sim/redirect").status_code == 400
