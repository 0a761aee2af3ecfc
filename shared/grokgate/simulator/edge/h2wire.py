"""What an HTTP/2 client reveals before its first request: the exact SETTINGS, WINDOW_UPDATE and
PRIORITY frames (the "Akamai" HTTP/2 fingerprint), read from the decrypted client byte stream.

Usage::

    sniffer = H2Sniffer()
    sniffer.feed(decrypted_bytes)          # as they arrive; never raises
    sniffer.preface.settings               # ((1, 65536), (2, 0), (4, 6291456), (6, 262144))
    sniffer.preface.window_update          # 15663105
    pseudo_order([(b":method", b"GET"), (b":authority", b"x"), ...])   # "m,a,s,p"

The ``h2`` library applies SETTINGS as a dict and does not report their order, so the first
frames are parsed here; the headers themselves (HPACK) are left to ``h2``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "PREFACE",
    "SETTING_NAMES",
    "H2Preface",
    "H2Sniffer",
    "Priority",
    "akamai_fingerprint",
    "pseudo_order",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

FRAME_DATA = 0x0
FRAME_HEADERS = 0x1
FRAME_PRIORITY = 0x2
FRAME_SETTINGS = 0x4
FRAME_WINDOW_UPDATE = 0x8
FLAG_ACK = 0x1
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

SETTING_NAMES = {
    1: "HEADER_TABLE_SIZE",
    2: "ENABLE_PUSH",
    3: "MAX_CONCURRENT_STREAMS",
    4: "INITIAL_WINDOW_SIZE",
    5: "MAX_FRAME_SIZE",
    6: "MAX_HEADER_LIST_SIZE",
    8: "ENABLE_CONNECT_PROTOCOL",
    9: "NO_RFC7540_PRIORITIES",
}

_PSEUDO = {":method": "m", ":authority": "a", ":scheme": "s", ":path": "p", ":protocol": "r"}


@dataclass(frozen=True)
class Priority:
    """A PRIORITY frame, or the priority block of a HEADERS frame."""

    stream_id: int
    depends_on: int
    weight: int  # 1..256 (the wire value plus one)
    exclusive: bool

    def __str__(self) -> str:
        return f"{self.stream_id}:{int(self.exclusive)}:{self.depends_on}:{self.weight}"


@dataclass
class H2Preface:
    """The connection-level frames a client sent before (and with) its first HEADERS."""

    preface_ok: bool | None = None
    settings: tuple[tuple[int, int], ...] | None = None
    window_update: int | None = None
    priorities: list[Priority] = field(default_factory=list)
    headers_priority: Priority | None = None
    frame_types: list[int] = field(default_factory=list)

    @property
    def settings_text(self) -> str:
        """Akamai form: ``1:65536;2:0;4:6291456;6:262144``."""
        return ";".join(f"{k}:{v}" for k, v in self.settings or ())

    @property
    def settings_named(self) -> list[tuple[str, int]]:
        return [(SETTING_NAMES.get(k, str(k)), v) for k, v in self.settings or ()]


def akamai_fingerprint(preface: H2Preface, order: str) -> str:
    """``SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-order`` (0 for an absent part)."""
    priorities = ",".join(str(p) for p in preface.priorities) or "0"
    return f"{preface.settings_text}|{preface.window_update or 0}|{priorities}|{order}"


def pseudo_order(headers: Iterable[tuple[bytes | str, bytes | str]]) -> str:
    """The pseudo-header order as Akamai writes it (``m,a,s,p``); unknown ones by name."""
    out: list[str] = []
    for name, _ in headers:
        text = name.decode("latin-1") if isinstance(name, bytes) else name
        if not text.startswith(":"):
            continue
        out.append(_PSEUDO.get(text, text))
    return ",".join(out)


class H2Sniffer:
    """Parse the client preface and frames up to the first HEADERS frame (or ``max_frames``).

    Bytes past that point are ignored, so feeding the whole connection costs nothing."""

    def __init__(self, max_frames: int = 64) -> None:
        self.preface = H2Preface()
        self.max_frames = max_frames
        self.done = False
        self._buf = bytearray()
        self._frames = 0

    def feed(self, data: bytes) -> None:
        if self.done or not data:
            return
        self._buf += data
        if self.preface.preface_ok is None:
            if len(self._buf) < len(PREFACE):
                if not PREFACE.startswith(bytes(self._buf)):
                    self._stop(ok=False)
                return
            if bytes(self._buf[: len(PREFACE)]) != PREFACE:
                self._stop(ok=False)
                return
            self.preface.preface_ok = True
            del self._buf[: len(PREFACE)]
        while not self.done and len(self._buf) >= 9:
            length = int.from_bytes(self._buf[0:3], "big")
            if len(self._buf) < 9 + length:
                return
            ftype, flags = self._buf[3], self._buf[4]
            stream_id = int.from_bytes(self._buf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self._buf[9 : 9 + length])
            del self._buf[: 9 + length]
            self._frame(ftype, flags, stream_id, payload)

    def _stop(self, ok: bool | None = None) -> None:
        if ok is not None:
            self.preface.preface_ok = ok
        self.done = True
        self._buf.clear()

    def _frame(self, ftype: int, flags: int, stream_id: int, payload: bytes) -> None:
        pre = self.preface
        pre.frame_types.append(ftype)
        self._frames += 1
        if ftype == FRAME_SETTINGS and not flags & FLAG_ACK and pre.settings is None:
            pre.settings = tuple(
                (
                    int.from_bytes(payload[i : i + 2], "big"),
                    int.from_bytes(payload[i + 2 : i + 6], "big"),
                )
                for i in range(0, len(payload) - len(payload) % 6, 6)
            )
        elif ftype == FRAME_WINDOW_UPDATE and stream_id == 0 and pre.window_update is None:
            if len(payload) >= 4:
                pre.window_update = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        elif ftype == FRAME_PRIORITY and len(payload) >= 5:
            pre.priorities.append(_priority(stream_id, payload))
        elif ftype == FRAME_HEADERS:
            if flags & FLAG_PRIORITY:
                offset = 1 if flags & FLAG_PADDED else 0
                if len(payload) >= offset + 5:
                    pre.headers_priority = _priority(stream_id, payload[offset:])
            self._stop()
            return
        if self._frames >= self.max_frames:
            self._stop()


def _priority(stream_id: int, payload: bytes) -> Priority:
    dep = int.from_bytes(payload[:4], "big")
    return Priority(
        stream_id=stream_id,
        depends_on=dep & 0x7FFFFFFF,
        weight=payload[4] + 1,
        exclusive=bool(dep & 0x80000000),
    )
