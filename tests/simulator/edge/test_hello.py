"""ClientHello parsing and JA4, on real captured hellos, Python's own hello, and garbage."""

from __future__ import annotations

import contextlib
import dataclasses
import ssl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grokgate.simulator.edge import CHROME_146, ClientHello, client_hello_complete, is_grease
from tests.simulator.edge.hello_samples import CHROME146_HELLO, CHROME146_WS_HELLO

CHROME146_JA4 = "t13d1516h2_8daaf6152771_d8a2da3f94cd"


def _python_hello(alpn: list[str] | None, server_hostname: str | None = "localhost") -> bytes:
    """The ClientHello Python's ``ssl`` sends (no network: a client SSLObject on memory BIOs)."""
    ctx = ssl.create_default_context()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def _reframe(raw: bytes, size: int) -> bytes:
    """The same handshake message re-cut into TLS records of ``size`` bytes."""
    message = raw[5 : 5 + int.from_bytes(raw[3:5], "big")]
    out = b""
    for i in range(0, len(message), size):
        part = message[i : i + size]
        out += b"\x16\x03\x01" + len(part).to_bytes(2, "big") + part
    return out


def test_chrome146_hello_fields_and_ja4() -> None:
    hello = ClientHello.parse(CHROME146_HELLO)
    assert hello.ja4 == CHROME146_JA4
    assert hello.ja4_a == "t13d1516h2"
    assert hello.legacy_version == 0x0303
    assert hello.tls_version == 0x0304
    assert hello.grease
    assert is_grease(hello.cipher_suites[0])  # GREASE is kept, in place
    assert len(hello.cipher_suites) == 16 and len(hello.ciphers_no_grease) == 15
    assert len(hello.extensions_no_grease) == 16
    assert hello.sni == "localhost"
    assert hello.alpn == ("h2", "http/1.1")
    assert hello.alps == ("h2",)
    assert hello.cert_compression == (2,)  # brotli
    assert 0x44CD in hello.extensions and 0xFE0D in hello.extensions and 27 in hello.extensions
    assert 0x11EC in hello.supported_groups  # X25519MLKEM768
    assert hello.key_share_groups[1:] == (0x11EC, 0x001D)
    assert hello.signature_algorithms == CHROME_146.signature_algorithms
    assert hello.extension_set - {0, 16} == CHROME_146.extensions
    assert hello.ja4_r.startswith("t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013")
    assert len(hello.session_id) == 32 and hello.compression_methods == b"\x00"


def test_chrome146_websocket_hello_offers_http11_and_drops_alps() -> None:
    hello = ClientHello.parse(CHROME146_WS_HELLO)
    assert hello.alpn == ("http/1.1",)
    assert hello.alps == ()
    assert hello.ja4 == "t13d1515h1_8daaf6152771_0a20fe35d3a5" == CHROME_146.ja4(websocket=True)
    assert hello.ja4_b == CHROME_146.ja4_b
    assert hello.extension_set - {0, 16} == CHROME_146.ws_extensions


def test_profile_reproduces_the_measured_ja4() -> None:
    assert CHROME_146.ja4() == CHROME146_JA4
    assert CHROME_146.ja4(sni=False) == "t13i1515h2_8daaf6152771_d8a2da3f94cd"


def test_python_ssl_hello_is_not_chrome() -> None:
    h1 = ClientHello.parse(_python_hello(["http/1.1"]))
    assert not h1.grease
    assert h1.ja4_a.startswith("t13d") and h1.ja4_a.endswith("h1")
    assert h1.ja4_b != CHROME_146.ja4_b
    assert 27 not in h1.extensions and 0x44CD not in h1.extensions
    no_alpn = ClientHello.parse(_python_hello(None, server_hostname=None))
    assert no_alpn.sni is None and no_alpn.alpn == ()
    assert no_alpn.ja4_a.startswith("t13i") and no_alpn.ja4_a.endswith("00")


def test_hello_split_over_records() -> None:
    for size in (1, 100, 517):
        raw = _reframe(CHROME146_HELLO, size)
        hello = ClientHello.parse(raw)
        assert hello.ja4 == CHROME146_JA4
        assert hello.extensions == ClientHello.parse(CHROME146_HELLO).extensions
    raw = _reframe(CHROME146_HELLO, 300)
    assert not any(client_hello_complete(raw[:n]) for n in range(0, len(raw), 7))
    assert client_hello_complete(raw)
    assert client_hello_complete(raw + b"\x14\x03\x03\x00\x01\x01")  # more may follow


def test_ja4_alpn_characters() -> None:
    hello = ClientHello.parse(CHROME146_HELLO)
    assert dataclasses.replace(hello, alpn=("http/1.1",)).ja4_a.endswith("h1")
    assert dataclasses.replace(hello, alpn=("\x00ab\xff",)).ja4_a.endswith("0f")
    assert dataclasses.replace(hello, alpn=()).ja4_a.endswith("00")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x00\x00",
        b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00",  # a ServerHello
        CHROME146_HELLO[:-1],
        CHROME146_HELLO[:5] + b"\x01\x00\xff\xff" + CHROME146_HELLO[9:],  # message too long
        b"\x15\x03\x03\x00\x02\x02\x28",  # an alert
    ],
)
def test_garbage_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        ClientHello.parse(data)


@given(st.binary(max_size=600))
def test_random_bytes_raise_only_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        ClientHello.parse(data)
    with contextlib.suppress(ValueError):
        client_hello_complete(data)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(0, len(CHROME146_HELLO) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, len(CHROME146_HELLO)),
)
def test_mutated_chrome_hello_raises_only_value_error(
    flips: list[tuple[int, int]], cut: int
) -> None:
    """Byte flips and truncations of a real hello: parsed, or ValueError, nothing else."""
    data = bytearray(CHROME146_HELLO)
    for pos, value in flips:
        data[pos] = value
    for candidate in (bytes(data), bytes(data[:cut])):
        try:
            hello = ClientHello.parse(candidate)
        except ValueError:
            continue
        assert isinstance(hello.ja4, str) and len(hello.ja4.split("_")) == 3
