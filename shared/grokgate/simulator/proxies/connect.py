"""The HTTP proxy: CONNECT tunnels and absolute-form requests."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlsplit

from grokgate.simulator.proxies.base import (
    HOP_HEADERS,
    LoopbackProxy,
    ProxyRecord,
    Refused,
    http_answer,
)


class ConnectProxy(LoopbackProxy):
    """An HTTP proxy: ``CONNECT host:port`` tunnels and absolute-form ``http://`` requests."""

    scheme = "http"
    kind = "connect"
    realm = "grokgate-sim"

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: ProxyRecord
    ) -> None:
        request_head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = request_head[:-4].split(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ")
        headers = [tuple(p.strip() for p in line.split(b":", 1)) for line in lines]
        values = {name.lower(): value for name, value in headers}
        record.kind = "connect" if method == "CONNECT" else "absolute"
        if not self._check(*_basic(values.get(b"proxy-authorization")), record):
            await http_answer(
                writer, record, 407, f'Proxy-Authenticate: Basic realm="{self.realm}"'
            )
            return
        split = urlsplit(f"//{target}" if method == "CONNECT" else target)
        try:
            if method != "CONNECT" and (split.scheme != "http" or not split.hostname):
                raise Refused("bad_request", 400)
            default = 443 if method == "CONNECT" else 80
            upstream = await self._connect(split.hostname or "", split.port or default, record)
        except Refused as refused:
            record.outcome = refused.outcome
            await http_answer(writer, record, refused.status)
            return
        record.outcome = "ok"
        if method == "CONNECT":
            record.status = 200
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await self._splice((reader, writer), upstream, record)
            return
        # hop-by-hop: the fixed ones and those Connection names (chrome's h2c offer: Upgrade,
        # HTTP2-Settings); a websocket upgrade keeps Upgrade and gets Connection: Upgrade
        upgrade = values.get(b"upgrade", b"").lower() == b"websocket"
        named = {t.strip().lower() for t in values.get(b"connection", b"").split(b",")}
        hop = HOP_HEADERS | (named - {b"upgrade"} if upgrade else named)
        path = (split.path or "/") + (f"?{split.query}" if split.query else "")
        out = [f"{method} {path} {version}".encode("latin-1")]
        out += [b"%s: %s" % (n, v) for n, v in headers if n.lower() not in hop]
        out += [b"Connection: Upgrade" if upgrade else b"Connection: close", b"", b""]
        upstream[1].write(b"\r\n".join(out))
        record.bytes_up += len(b"\r\n".join(out))

        def response_head(head: bytes) -> bytes:
            status_line, *lines = head[:-4].split(b"\r\n")
            record.status = int(status_line.split(b" ")[1])
            if upgrade or record.status < 200:
                return head
            kept = [line for line in lines if line.split(b":")[0].lower() not in HOP_HEADERS]
            return b"\r\n".join([status_line, *kept, b"Connection: close", b"", b""])

        await self._splice((reader, writer), upstream, record, response_head)


def _basic(value: bytes | None) -> tuple[str | None, str | None]:
    """(username, password) from a ``Basic`` Proxy-Authorization value."""
    scheme, _, token = (value or b"").decode("latin-1").partition(" ")
    try:
        username, _, password = base64.b64decode(token.strip()).decode().partition(":")
    except ValueError:
        return None, None
    return (username, password) if scheme.lower() == "basic" else (None, None)
