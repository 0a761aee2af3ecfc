"""TLS for the edge: certificates from a throw-away CA, and TLS over asyncio streams through
``ssl.SSLObject`` + ``MemoryBIO`` so the raw ClientHello can be read before the handshake.

Usage::

    certs = EdgeCertificates()                 # trustme CA + cert for localhost, grok.com, ...
    verify = certs.ca_file                     # PEM path a client trusts (curl_cffi verify=...)
    hello = await read_client_hello(reader)    # raw bytes, ValueError if not TLS
    tls = TlsStream(reader, writer, certs.server_context(), hello)
    await tls.handshake(); data = await tls.read(); await tls.write(b"...")
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import tempfile
from pathlib import Path

from .hello import client_hello_complete

__all__ = ["DEFAULT_HOSTS", "EdgeCertificates", "TlsStream", "read_client_hello"]

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "grok.com", "assets.grok.com")
ALPN = ("h2", "http/1.1")
_READ = 65536


class EdgeCertificates:
    """A trustme CA and one server certificate for ``hosts``; ``ca_file`` is the CA's PEM path
    (written to a private temporary directory, removed by :meth:`close`)."""

    def __init__(self, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> None:
        import trustme  # a test dependency: imported on first use

        self.hosts = hosts
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert(*hosts)
        self._dir = Path(tempfile.mkdtemp(prefix="grokgate-edge-"))
        self.ca_file = str(self._dir / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def server_context(self, alpn: tuple[str, ...] = ALPN) -> ssl.SSLContext:
        """A server context offering ``alpn`` (server preference: h2 first)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.cert.configure_cert(ctx)
        ctx.set_alpn_protocols(list(alpn))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting the CA (for httpx ``verify=``)."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


async def read_client_hello(reader: asyncio.StreamReader, limit: int = 1 << 17) -> bytes:
    """Read raw bytes until they hold a whole ClientHello; returns everything read.

    ValueError when the bytes are not a ClientHello, ConnectionError on early EOF."""
    buf = b""
    while not client_hello_complete(buf):
        chunk = await reader.read(_READ)
        if not chunk:
            raise ConnectionError("connection closed before a ClientHello")
        buf += chunk
        if len(buf) > limit:
            raise ValueError("ClientHello too large")
    return buf


class TlsStream:
    """Server-side TLS over an asyncio stream pair. ``initial`` is what was already read from
    the socket (the ClientHello). Writes are encrypted and handed to the transport in one
    synchronous step, so concurrent writers never interleave records."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        context: ssl.SSLContext,
        initial: bytes = b"",
    ) -> None:
        self.reader = reader
        self.writer = writer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._incoming.write(initial)
        self.ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.eof = False

    @property
    def alpn(self) -> str | None:
        return self.ssl.selected_alpn_protocol()

    @property
    def version(self) -> str | None:
        return self.ssl.version()

    def _push(self) -> None:
        data = self._outgoing.read()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def _fill(self) -> bool:
        """Read more ciphertext; False at EOF."""
        self._push()
        chunk = await self.reader.read(_READ)
        if not chunk:
            self._incoming.write_eof()
            return False
        self._incoming.write(chunk)
        return True

    async def handshake(self) -> None:
        while True:
            try:
                self.ssl.do_handshake()
            except ssl.SSLWantReadError:
                if not await self._fill():
                    raise ConnectionError("EOF during the TLS handshake") from None
            else:
                break
        self._push()
        await self.writer.drain()

    async def read(self, n: int = _READ) -> bytes:
        """Up to ``n`` decrypted bytes; ``b""`` at EOF (close_notify or TCP EOF)."""
        if self.eof:
            return b""
        while True:
            try:
                data = self.ssl.read(n)
            except ssl.SSLWantReadError:
                if not await self._fill():
                    self.eof = True
                    return b""
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.eof = True
                return b""
            self._push()
            if not data:
                self.eof = True
            return data

    def write_nowait(self, data: bytes) -> None:
        """Encrypt and queue ``data`` on the transport (await :meth:`drain` for backpressure)."""
        if data:
            self.ssl.write(data)
            self._push()

    async def drain(self) -> None:
        await self.writer.drain()

    async def write(self, data: bytes) -> None:
        self.write_nowait(data)
        await self.writer.drain()

    async def close(self) -> None:
        """Send close_notify (best effort) and close the socket."""
        with contextlib.suppress(ssl.SSLError, OSError, ValueError):
            self.ssl.unwrap()
        with contextlib.suppress(ssl.SSLError, OSError):
            self._push()
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
