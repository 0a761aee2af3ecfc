"""Shelving big inline attachments out of stored bodies: round trips exactly, stores repeats
once, leaves small values alone, and cannot be fooled by a client's look-alike reference."""

from __future__ import annotations

import base64
import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grokgate.core.stored_media import (
    SHELF_PREFIX,
    THRESHOLD,
    ShelvedMediaMissing,
    shelve,
    unshelve,
)
from grokgate.stores.media import MediaStore


class MemoryMedia(MediaStore):
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.puts = 0

    async def _put(self, key: str, data: bytes, content_type: str) -> None:
        self.puts += 1
        self.files[key] = (data, content_type)

    async def _get(self, key: str) -> tuple[bytes, str] | None:
        return self.files.get(key)

    async def _url(self, key: str, **_: Any) -> str:
        return f"memory://{key}"

    async def _delete(self, key: str) -> bool:
        return self.files.pop(key, None) is not None


def b64(size: int) -> str:
    return base64.b64encode(os.urandom(size)).decode()


BIG = b64(THRESHOLD)  # encoded: more than THRESHOLD characters
PNG_URI = "data:image/png;base64," + BIG


def body() -> dict[str, Any]:
    return {
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this?"},
                    {"type": "input_image", "image_url": PNG_URI, "detail": "auto"},
                    {"type": "input_file", "filename": "a.pdf", "file_data": BIG},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": BIG},
                    },
                    {"type": "input_audio", "input_audio": {"data": BIG, "format": "wav"}},
                ],
            },
        ],
        "output": [{"type": "image_generation_call", "result": BIG, "status": "completed"}],
        "small": "data:image/png;base64,iVBORw0KGgo=",
    }


async def test_big_payloads_leave_the_body_and_come_back_exactly() -> None:
    media = MemoryMedia()
    original = body()
    kept = copy.deepcopy(original)
    shelved = await shelve(original, media, "owner-a")
    assert original == kept  # the input is not changed in place
    text = json.dumps(shelved)
    assert BIG not in text and len(text) < 4000
    assert shelved["small"] == original["small"]  # under the threshold: inline
    assert len(media.files) == 1 and media.puts == 1  # one payload, stored once
    assert all(key.startswith(SHELF_PREFIX) for key in media.files)
    assert await unshelve(shelved, media) == original


async def test_shelving_again_stores_nothing_new_and_is_stable() -> None:
    media = MemoryMedia()
    once = await shelve(body(), media, "owner-a")
    twice = await shelve(once, media, "owner-a")
    assert twice == once and media.puts == 1
    assert await unshelve(twice, media) == body()


async def test_owners_do_not_share_files() -> None:
    media = MemoryMedia()
    await shelve({"x": PNG_URI}, media, "owner-a")
    await shelve({"x": PNG_URI}, media, "owner-b")
    assert len(media.files) == 2


async def test_non_canonical_base64_still_round_trips() -> None:
    media = MemoryMedia()
    odd = {
        "wrapped": "data:text/plain;base64,"
        + "\n".join([BIG[i : i + 76] for i in range(0, len(BIG), 76)]),
        "unpadded": {"type": "base64", "data": BIG.rstrip("=") + "A" * 100_000},
        "not_base64": {"file_data": "é" * (THRESHOLD + 1)},
        "trailing_bits": {"data": b64(66_000) + "QR=="},  # decodes, but re-encodes as QQ==
    }
    shelved = await shelve(odd, media, "owner-a")
    assert await unshelve(shelved, media) == odd


async def test_a_client_object_that_looks_like_a_reference_is_not_trusted() -> None:
    media = MemoryMedia()
    theirs = await shelve({"x": PNG_URI}, media, "owner-b")  # someone else's file
    sneaky = {
        "a": theirs["x"],
        "b": {"$grokgate_escaped": {"k": 1}},
        "c": {"$grokgate_shelved": "junk"},
    }
    shelved = await shelve(sneaky, media, "owner-a")
    assert await unshelve(shelved, media) == sneaky  # returned as sent, never resolved


async def test_a_missing_file_is_a_clear_error() -> None:
    media = MemoryMedia()
    shelved = await shelve({"x": PNG_URI}, media, "owner-a")
    media.files.clear()
    with pytest.raises(ShelvedMediaMissing) as caught:
        await unshelve(shelved, media)
    assert caught.value.status == 400 and "expired" in str(caught.value)


async def test_local_media_store_round_trip(tmp_path: Path) -> None:
    from grokgate.stores.media_local import LocalMediaStore

    media = LocalMediaStore(tmp_path / "media", b"k" * 32)
    shelved = await shelve(body(), media, "owner-a")
    assert await unshelve(shelved, media) == body()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["$grokgate_shelved", "$grokgate_escaped", "data:x/y;base64,", "base64"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["$grokgate_shelved", "$grokgate_escaped", "type", "data", "file_data", "k", "url"]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, big=st.sampled_from(["", PNG_URI, BIG]))
async def test_any_json_value_round_trips(value: Any, big: str) -> None:
    media = MemoryMedia()
    doc = {"v": value, "big": big, "nested": [{"data": big, "v": value}]}
    shelved = await shelve(doc, media, "owner-a")
    restored = await unshelve(shelved, media)
    assert json.dumps(restored, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert restored == doc
