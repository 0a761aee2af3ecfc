"""Simulator asset downloads (``GET /assets/{path}``), public images and media bytes."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

import pytest

from grokgate.simulator.media_bytes import (
    image_bytes,
    jpeg,
    palette,
    png_bytes,
    prompt_hash,
    video_bytes,
)
from grokgate.simulator.state import UPLOAD_PATH
from grokgate.simulator.uploads import tiny_png

if TYPE_CHECKING:
    from conftest import Sim

FORBIDDEN = {"error": {"code": 7, "message": "Forbidden", "details": []}}


def cookie(token: str) -> dict[str, str]:
    return {"cookie": f"sso={token}; sso-rw={token}"}


def uid(sim: Sim, token: str = "tok-super") -> str:
    return sim.state.accounts[token].user_id


def test_uploads_are_served_at_their_content_path(sim: Sim) -> None:
    png = tiny_png()
    response = sim.http.post(
        UPLOAD_PATH, files={"file": ("a.png", png, "image/png")}, headers=cookie("tok-super")
    )
    file_uri = response.json()["fileMetadata"]["fileUri"]
    got = sim.http.get(f"/assets/{file_uri}", headers=cookie("tok-super"))
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-length"] == str(len(png))


@pytest.mark.parametrize(
    ("path", "mime"),
    [("generated/i1/image.jpg", "image/jpeg"), ("generated/v1/generated_video.mp4", "video/mp4")],
)
def test_generated_assets_have_their_type_and_length(sim: Sim, path: str, mime: str) -> None:
    data = image_bytes("i1") if mime == "image/jpeg" else video_bytes("v1", "p")
    full = f"users/{uid(sim)}/{path}"
    if mime == "video/mp4":
        sim.state.media.add_video("tok-super", "v1", full, data)
    else:
        sim.state.media.add_image("tok-super", "i1", full, data)
    got = sim.http.get(f"/assets/{full}", headers=cookie("tok-super"))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == mime
    assert got.headers["content-length"] == str(len(data))
    (record,) = sim.state.media.requests("asset")
    assert record.detail == {"path": full} and record.token == "tok-super"


@pytest.mark.parametrize(
    "headers",
    [{}, cookie("nobody"), {"cookie": "sso=tok-super"}, {"cookie": "sso=tok-super; sso-rw=x"}],
)
def test_without_a_valid_cookie_it_is_401(sim: Sim, headers: dict[str, str]) -> None:
    path = f"users/{uid(sim)}/generated/i1/image.jpg"
    sim.state.media.add_image("tok-super", "i1", path, image_bytes("i1"))
    got = sim.http.get(f"/assets/{path}", headers=headers)
    assert got.status_code == 401
    assert "invalid-credentials" in got.json()["error"]["message"]


def test_another_accounts_asset_is_403_and_an_unknown_path_404(sim: Sim) -> None:
    path = f"users/{uid(sim)}/generated/i1/image.jpg"
    sim.state.media.add_image("tok-super", "i1", path, image_bytes("i1"))
    other = sim.http.get(f"/assets/{path}", headers=cookie("tok-heavy"))
    assert other.status_code == 403 and other.json() == FORBIDDEN
    nothing = f"users/{uid(sim, 'tok-heavy')}/generated/nope/image.jpg"
    missing = sim.http.get(f"/assets/{nothing}", headers=cookie("tok-heavy"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 5
    assert sim.http.get("/assets/elsewhere.jpg", headers=cookie("tok-heavy")).status_code == 404
    stranger = f"users/{uid(sim)}/generated/nope/image.jpg"
    assert sim.http.get(f"/assets/{stranger}", headers=cookie("tok-heavy")).status_code == 403


def test_another_accounts_upload_is_403(sim: Sim) -> None:
    stored = sim.state.add_upload("tok-super", "a.txt", "text/plain", b"hi")
    path = f"/assets/users/{uid(sim)}/{stored.file_id}/content"
    assert sim.http.get(path, headers=cookie("tok-heavy")).status_code == 403
    forged = f"/assets/users/{uid(sim, 'tok-heavy')}/{stored.file_id}/content"
    assert sim.http.get(forged, headers=cookie("tok-heavy")).status_code == 404
    assert sim.http.get(path, headers=cookie("tok-super")).content == b"hi"


def test_public_images_need_public_urls_and_no_cookie(sim: Sim) -> None:
    path = f"users/{uid(sim)}/generated/i1/image.jpg"
    sim.state.media.add_image("tok-super", "i1", path, image_bytes("i1"))
    assert sim.http.get("/imagine-public/images/i1.jpg").status_code == 404
    sim.state.media.public_urls = True
    sim.state.media.add_image("tok-super", "i2", path.replace("i1", "i2"), image_bytes("i2"))
    got = sim.http.get("/imagine-public/images/i2.jpg")
    assert got.status_code == 200 and got.content == image_bytes("i2")
    assert got.headers["content-type"] == "image/jpeg"


def test_reset_forgets_media_state(sim: Sim) -> None:
    media = sim.state.media
    media.public_urls, media.images_per_round, media.video_step_delay = True, 2, 1.0
    media.add_video("tok-super", "v", "users/x/generated/v/generated_video.mp4", b"mp4")
    media.inject("tok-super", "moderate")
    media.set_remaining("tok-super", "image", 3)
    media.record("asset", "tok-super")
    sim.state.reset()
    assert (media.public_urls, media.images_per_round, media.video_step_delay) == (False, None, 0)
    assert media.videos == {} and media.assets == {} and media.requests() == []
    assert media.take("tok-super", "edit") is None
    assert media.remaining("tok-super", "image") == 100


# bytes -----------------------------------------------------------------------------------------
def _segments(data: bytes) -> list[tuple[int, bytes]]:
    """JPEG marker segments up to SOS."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    pos, found = 2, []
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        found.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:
            return found


def test_jpeg_structure() -> None:
    data = jpeg(52, 78, "seed")
    segments = dict(_segments(data))
    assert segments[0xE0].startswith(b"JFIF\x00")
    height, width, components = struct.unpack(">HHB", segments[0xC0][1:6])
    assert (width, height, components) == (52, 78, 3)
    assert len(segments[0xDB]) == 2 * 65 and 0xC4 in segments


def test_image_bytes_are_deterministic_and_sized() -> None:
    assert image_bytes("a") == image_bytes("a") != image_bytes("b")
    full = dict(_segments(image_bytes("a", 832, 1248)))[0xC0]
    preview = dict(_segments(image_bytes("a", 832, 1248, preview=True)))[0xC0]
    assert struct.unpack(">HH", full[1:5]) == (78, 52)
    assert struct.unpack(">HH", preview[1:5]) == (19, 13)
    assert palette("a") != palette("b")


def test_png_bytes() -> None:
    data = png_bytes("s", 20, 10)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", data[16:24]) == (20, 10)
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 10 * (1 + 20 * 3)


def test_video_bytes_are_boxes_embedding_the_prompt_hash() -> None:
    data = video_bytes("vid", "a prompt", 10)
    boxes, pos = {}, 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        boxes[kind] = data[pos + 8 : pos + size]
        pos += size
    assert pos == len(data) and list(boxes) == [b"ftyp", b"moov", b"mdat"]
    assert boxes[b"ftyp"][:4] == b"isom" and boxes[b"moov"][4:8] == b"mvhd"
    timescale, duration = struct.unpack(">II", boxes[b"moov"][8 + 12 : 8 + 20])
    assert duration / timescale == 10
    assert prompt_hash("a prompt").encode() in boxes[b"mdat"] and b"vid" in boxes[b"mdat"]
    assert video_bytes("vid", "a prompt", 10) == data != video_bytes("vid", "other", 10)
