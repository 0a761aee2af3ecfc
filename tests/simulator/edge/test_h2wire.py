"""H2Sniffer: the exact SETTINGS order, WINDOW_UPDATE and priorities from raw client bytes."""

from __future__ import annotations

import h2.config
import h2.connection
from hyperframe.frame import HeadersFrame, PriorityFrame, SettingsFrame, WindowUpdateFrame

from grokgate.simulator.edge import CHROME_146, H2Sniffer, akamai_fingerprint, pseudo_order
from grokgate.simulator.edge.h2wire import PREFACE

CHROME_SETTINGS = ((1, 65536), (2, 0), (4, 6291456), (6, 262144))


def _client_bytes(settings: tuple[tuple[int, int], ...], window: int) -> bytes:
    frame = SettingsFrame(0)
    for key, value in settings:
        frame.settings[key] = value
    update = WindowUpdateFrame(0)
    update.window_increment = window
    priority = PriorityFrame(3)
    priority.depends_on, priority.stream_weight, priority.exclusive = 0, 200, False
    headers = HeadersFrame(1)
    for flag in ("END_HEADERS", "END_STREAM", "PRIORITY"):
        headers.flags.add(flag)
    headers.depends_on, headers.stream_weight, headers.exclusive = 0, 255, True
    headers.data = b"\x82\x84"
    frames = (frame, update, priority, headers)
    return PREFACE + b"".join(f.serialize() for f in frames)


def test_sniffer_keeps_settings_order_byte_by_byte() -> None:
    reordered = ((4, 6291456), (1, 65536), (6, 262144), (2, 0))
    data = _client_bytes(reordered, 15663105)
    sniffer = H2Sniffer()
    for i in range(len(data)):
        sniffer.feed(data[i : i + 1])
    pre = sniffer.preface
    assert sniffer.done and pre.preface_ok
    assert pre.settings == reordered
    assert pre.settings_text == "4:6291456;1:65536;6:262144;2:0"
    assert pre.settings_named[0] == ("INITIAL_WINDOW_SIZE", 6291456)
    assert pre.window_update == 15663105
    assert [str(p) for p in pre.priorities] == ["3:0:0:201"]
    assert pre.headers_priority is not None and pre.headers_priority.weight == 256
    assert pre.headers_priority.exclusive
    sniffer.feed(b"anything after the first HEADERS is ignored")
    assert pre.settings == reordered


def test_akamai_fingerprint_of_chrome_frames() -> None:
    sniffer = H2Sniffer()
    sniffer.feed(_client_bytes(CHROME_SETTINGS, 15663105))
    akamai = akamai_fingerprint(sniffer.preface, "m,a,s,p")
    assert akamai == "1:65536;2:0;4:6291456;6:262144|15663105|3:0:0:201|m,a,s,p"
    assert CHROME_146.akamai == "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p"


def test_h2_library_client_preface() -> None:
    """The ``h2`` client (httpx's stack) writes its own SETTINGS: read as sent."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.increment_flow_control_window(1000)
    sniffer = H2Sniffer()
    sniffer.feed(conn.data_to_send())
    assert sniffer.preface.preface_ok
    assert sniffer.preface.settings is not None
    assert dict(sniffer.preface.settings)[4] == 65535
    assert sniffer.preface.window_update == 1000


def test_bad_preface_stops_the_sniffer() -> None:
    sniffer = H2Sniffer()
    sniffer.feed(b"GET / HTTP/1.1\r\n")
    assert sniffer.done and sniffer.preface.preface_ok is False
    assert sniffer.preface.settings is None


def test_pseudo_order() -> None:
    chrome = [(b":method", b"GET"), (b":authority", b"x"), (b":scheme", b"https"), (b":path", b"/")]
    assert pseudo_order(chrome) == "m,a,s,p"
    firefox = [(":method", "GET"), (":path", "/"), (":authority", "x"), (":scheme", "https")]
    assert pseudo_order([*firefox, ("user-agent", "x")]) == "m,p,a,s"
