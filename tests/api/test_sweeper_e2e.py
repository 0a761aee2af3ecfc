"""The sweeper in a live gateway: a generated image's file is deleted once past its retention
(its URL answers 404 from then on) by the periodic sweep the app starts; with the sweep off,
it stays."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.sdk import openai_client as client
from tests.support import GatewayFactory


def _generate(base: str) -> str:
    out = client(base).images.generate(model="grok-imagine-image", prompt="a red fox", n=1)
    assert out.data and out.data[0].url
    return out.data[0].url


def _files(root: Path) -> list[str]:
    folder = root / "media" / "images"
    return [p.name for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


def test_expired_media_is_swept_while_serving(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(sweep_seconds=0.2, media_retention_seconds=1.0)
    url = _generate(gw.url)
    assert httpx.get(url, timeout=10).status_code == 200
    deadline = time.monotonic() + 10
    while _files(gw.settings.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _files(gw.settings.data_dir) == []
    assert httpx.get(url, timeout=10).status_code == 404


def test_no_sweep_when_it_is_off(make_gateway: GatewayFactory) -> None:
    gw = make_gateway(sweep_seconds=0, media_retention_seconds=1.0)
    url = _generate(gw.url)
    time.sleep(1.5)
    assert len(_files(gw.settings.data_dir)) == 1
    assert httpx.get(url, timeout=10).status_code == 200
