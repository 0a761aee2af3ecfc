"""verdict(): the Chrome rules on hand-built records (real captured hellos, chosen frames)."""

from __future__ import annotations

import dataclasses

from grokgate.simulator.edge import (
    CHROME_146,
    ClientHello,
    ConnectionRecord,
    H2Preface,
    RequestRecord,
    is_chrome,
    verdict,
)
from tests.simulator.edge.hello_samples import CHROME146_HELLO, CHROME146_WS_HELLO

CHROME_PSEUDO = [(":method", "GET"), (":authority", "x"), (":scheme", "https"), (":path", "/")]


def _h2_record(
    settings: tuple[tuple[int, int], ...] = CHROME_146.settings,
    window: int = 15663105,
    pseudo: list[tuple[str, str]] = CHROME_PSEUDO,
) -> ConnectionRecord:
    request = RequestRecord("GET", "/", "x", [("user-agent", "x")], pseudo_headers=pseudo)
    return ConnectionRecord(
        source=("127.0.0.1", 1),
        hello=ClientHello.parse(CHROME146_HELLO),
        alpn="h2",
        h2=H2Preface(preface_ok=True, settings=settings, window_update=window),
        requests=[request],
    )


def test_chrome_record_passes() -> None:
    judged = verdict(_h2_record())
    assert judged and judged.profile == "chrome146" and str(judged) == "chrome (chrome146)"


def test_pseudo_order_settings_order_and_window_are_checked() -> None:
    firefox_order = [CHROME_PSEUDO[0], CHROME_PSEUDO[3], CHROME_PSEUDO[1], CHROME_PSEUDO[2]]
    assert "pseudo-header order ['m,p,a,s']" in str(verdict(_h2_record(pseudo=firefox_order)))
    shuffled = tuple(reversed(CHROME_146.settings))
    assert "HTTP/2 SETTINGS 6:262144;4:6291456;2:0;1:65536" in str(
        verdict(_h2_record(settings=shuffled))
    )
    assert "WINDOW_UPDATE 65535" in str(verdict(_h2_record(window=65535)))


def test_websocket_hello_needs_websocket_requests() -> None:
    ws = RequestRecord("GET", "/ws", "x", [], http_version="HTTP/1.1", websocket=True)
    record = ConnectionRecord(
        source=("127.0.0.1", 1),
        hello=ClientHello.parse(CHROME146_WS_HELLO),
        alpn="http/1.1",
        requests=[ws],
    )
    assert is_chrome(record)
    record.requests.append(RequestRecord("GET", "/", "x", [], http_version="HTTP/1.1"))
    assert "not WebSocket upgrades (GET /)" in str(verdict(record))


def test_h2_hello_on_http11_is_not_chrome() -> None:
    record = _h2_record()
    record.alpn, record.h2 = "http/1.1", None
    record.requests[0].websocket = True
    assert "HTTP/1.1 negotiated with ALPN offer ['h2', 'http/1.1']" in str(verdict(record))


def test_no_hello() -> None:
    record = ConnectionRecord(source=("127.0.0.1", 1), hello_error="not a TLS handshake record")
    assert str(verdict(record)).startswith("not chrome: no ClientHello parsed (not a TLS")


def test_a_resumed_session_hello_is_still_chrome() -> None:
    record = _h2_record()
    assert record.hello is not None
    resumed = dataclasses.replace(record.hello, extensions=(*record.hello.extensions, 41))
    record.hello = resumed  # Chrome's hello on a second connection: pre_shared_key added
    assert is_chrome(record), verdict(record).reasons
    record.hello = dataclasses.replace(resumed, extensions=(*resumed.extensions, 0x1234))
    assert not is_chrome(record)
