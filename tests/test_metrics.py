"""Counters: in-process totals always; embedded-metric-format lines inside Lambda."""

from __future__ import annotations

import json

import pytest

from grokgate import metrics


def test_totals_filter_by_dimensions() -> None:
    before = metrics.total("TestCounter")
    metrics.count("TestCounter", source="ws", stage="handshake")
    metrics.count("TestCounter", 2, source="ws", stage="session")
    assert metrics.total("TestCounter") == before + 3
    assert metrics.total("TestCounter", stage="session") >= 2
    assert metrics.total("TestCounter", stage="nowhere") == 0


def test_no_emf_outside_lambda(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    metrics.count("TestQuiet")
    assert capsys.readouterr().out == ""


def test_emf_line_inside_lambda(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "grokgate-chat")
    metrics.count("WebChatFallback", source="ws", target="rest")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    doc = json.loads(line)
    assert doc["WebChatFallback"] == [1.0] or doc["WebChatFallback"] == 1.0
    meta = doc["_aws"]["CloudWatchMetrics"][0]
    assert meta["Namespace"] == "grokgate"
    assert {"source", "target"} <= set(meta["Dimensions"][0])
    assert doc["source"] == "ws" and doc["target"] == "rest"
