"""Deterministic media bytes of the simulator (docs/grok-protocol.md §6.5, §7.3).

* :func:`jpeg` is a tiny *baseline* JPEG encoder (JFIF, 3 components, no subsampling, 8×8
  blocks that are each one flat colour, so every block is a DC coefficient plus an end-of-block
  code). It uses the standard DC Huffman tables of ITU T.81 Annex K and a one-symbol AC table
  (just EOB). The picture is a checkerboard of two colours chosen from a seed.
* :func:`image_bytes` is the JPEG the simulator serves for an image id (generated images,
  imagine previews, video thumbnails): ``image_bytes(image_id, width, height)`` where
  ``width``×``height`` are the nominal sizes the wire frames announce; the encoded picture is
  16 times smaller (at least 8×8), ``preview=True`` 64 times smaller.
* :func:`video_bytes` is a small MP4 (``ftyp`` + ``moov``/``mvhd`` + ``mdat``) whose ``mdat``
  embeds the video id and ``sha256(prompt)``.
* :func:`png_bytes` is a PNG of the same checkerboard (zlib; for callers that want PNG).
"""

from __future__ import annotations

import hashlib
import struct
import zlib

__all__ = [
    "LIGHTHOUSE_ID",
    "image_bytes",
    "jpeg",
    "palette",
    "png_bytes",
    "prompt_hash",
    "video_bytes",
]

LIGHTHOUSE_ID = "lighthouse-demo"

# ITU T.81 Annex K.3: standard DC tables (code-length counts for lengths 1..16, symbols 0..11).
_DC_LUMA = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_CHROMA = (0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0)
_DC_SYMBOLS = bytes(range(12))
# AC table with a single symbol, 0x00 (EOB), coded as the 2-bit code "00".
_AC_EOB_ONLY = (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_QUANT = 8  # every quantiser is 8, so a flat block's quantised DC is its level-shifted value


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _codes(counts: tuple[int, ...], symbols: bytes) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes: symbol -> (code, length)."""
    table: dict[int, tuple[int, int]] = {}
    code = index = 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            table[symbols[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return table


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1 bits
        return bytes(self.out)


def _ycc(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return tuple(max(-128, min(127, round(v) - 128)) for v in (y, cb, cr))  # type: ignore[return-value]


def palette(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The two checkerboard colours for ``seed``."""
    d = hashlib.sha256(seed.encode()).digest()
    return (d[0], d[1], d[2]), (d[3], d[4], d[5])


def jpeg(width: int, height: int, seed: str, cell: int = 2) -> bytes:
    """A valid baseline JPEG of ``width``×``height`` pixels: a checkerboard of ``cell``×``cell``
    blocks (8×8 pixels each) in the two colours of :func:`palette`."""
    if not (0 < width < 65536 and 0 < height < 65536):
        raise ValueError("JPEG sizes must be 1..65535")
    colours = [_ycc(c) for c in palette(seed)]
    dc = [_codes(_DC_LUMA, _DC_SYMBOLS), _codes(_DC_CHROMA, _DC_SYMBOLS)]
    eob = _codes(_AC_EOB_ONLY, b"\x00")[0]
    bits = _Bits()
    pred = [0, 0, 0]
    for by in range((height + 7) // 8):
        for bx in range((width + 7) // 8):
            ycc = colours[((bx // cell) + (by // cell)) % 2]
            for comp in range(3):
                diff = ycc[comp] - pred[comp]
                pred[comp] = ycc[comp]
                size = abs(diff).bit_length()
                code, length = dc[min(comp, 1)][size]
                bits.put(code, length)
                if size:
                    bits.put(diff if diff >= 0 else diff + (1 << size) - 1, size)
                bits.put(*eob)
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"".join(bytes([table]) + bytes([_QUANT]) * 64 for table in (0, 1))
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    dht = b"".join(
        bytes([cls_id]) + bytes(counts) + symbols
        for cls_id, counts, symbols in (
            (0x00, _DC_LUMA, _DC_SYMBOLS),
            (0x10, _AC_EOB_ONLY, b"\x00"),
            (0x01, _DC_CHROMA, _DC_SYMBOLS),
            (0x11, _AC_EOB_ONLY, b"\x00"),
        )
    )
    sos = b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return (
        b"\xff\xd8"
        + _segment(0xE0, jfif)
        + _segment(0xFE, f"grok simulator {seed}".encode()[:200])
        + _segment(0xDB, dqt)
        + _segment(0xC0, sof)
        + _segment(0xC4, dht)
        + _segment(0xDA, sos)
        + bits.flush()
        + b"\xff\xd9"
    )


def image_bytes(
    image_id: str, width: int = 1024, height: int = 1024, preview: bool = False
) -> bytes:
    """The JPEG served for ``image_id`` announced as ``width``×``height``."""
    scale = 64 if preview else 16
    return jpeg(max(8, width // scale), max(8, height // scale), image_id)


def png_bytes(seed: str, width: int = 16, height: int = 16) -> bytes:
    """An RGB PNG of the same 16-pixel checkerboard as :func:`jpeg`."""
    colours = [bytes(c) for c in palette(seed)]
    rows = b"".join(
        b"\x00" + b"".join(colours[((x // 16) + (y // 16)) % 2] for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload) + 8) + kind + payload


def video_bytes(video_id: str, prompt: str = "", duration: int = 6) -> bytes:
    """A small MP4: ``ftyp`` (isom), ``moov`` with an ``mvhd`` of ``duration`` seconds, and an
    ``mdat`` that names ``video_id`` and ``sha256(prompt)``."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, 1000, duration * 1000)  # version/flags, times, scale
        + struct.pack(">IH", 0x10000, 0x100)  # rate 1.0, volume 1.0
        + b"\x00" * 10
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 2),  # next track id
    )
    moov = _box(b"moov", mvhd)
    body = f"grok simulator video {video_id} prompt-sha256 {prompt_hash(prompt)}\n".encode()
    mdat = _box(b"mdat", body + hashlib.sha256(body).digest() * 8)
    return ftyp + moov + mdat
