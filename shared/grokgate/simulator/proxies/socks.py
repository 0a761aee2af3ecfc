"""The SOCKS5 proxy (RFC 1928, RFC 1929 credentials)."""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from typing import Any

from grokgate.simulator.proxies.base import LoopbackProxy, ProxyRecord, Refused


class Socks5Proxy(LoopbackProxy):
    """RFC 1928 SOCKS5 (CONNECT; IPv4, domain, IPv6), no-auth or RFC 1929 username/password.

    ``fail_with`` is a SOCKS reply code here (1 general failure, 5 connection refused…)."""

    scheme = "socks5h"
    kind = "socks"

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: ProxyRecord
    ) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != 5:
            record.outcome = "bad_request"
            return
        wanted = 0x00 if self.username is None else 0x02
        if wanted not in methods:
            record.authenticated = False if self.username is not None else None
            record.outcome = "auth_failed"
            writer.write(b"\x05\xff")
            return
        writer.write(bytes([5, wanted]))
        if wanted == 0x02:
            username = await reader.readexactly((await reader.readexactly(2))[1])
            password = await reader.readexactly((await reader.readexactly(1))[0])
            ok = self._check(
                username.decode(errors="replace"), password.decode(errors="replace"), record
            )
            writer.write(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        _, command, _, atyp = await reader.readexactly(4)
        if atyp not in (1, 3, 4):
            await _socks_reply(writer, record, 8, "bad_request")
            return
        size = (await reader.readexactly(1))[0] if atyp == 3 else 4 if atyp == 1 else 16
        raw = await reader.readexactly(size)
        host = raw.decode("idna") if atyp == 3 else ipaddress.ip_address(raw).compressed
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        record.address_type = {1: "ipv4", 3: "domain", 4: "ipv6"}[atyp]
        record.target = (host, port)
        if command != 1:
            await _socks_reply(writer, record, 7, "bad_request")
            return
        try:
            upstream = await self._connect(host, port, record)
        except Refused as refused:
            code = {"forbidden": 2, "unreachable": 5}.get(refused.outcome, refused.status)
            await _socks_reply(writer, record, code, refused.outcome)
            return
        await _socks_reply(writer, record, 0, "ok", upstream[1].get_extra_info("sockname"))
        await self._splice((reader, writer), upstream, record)


async def _socks_reply(
    writer: asyncio.StreamWriter, record: ProxyRecord, code: int, outcome: str, bound: Any = None
) -> None:
    record.status, record.outcome = code, outcome
    ip = ipaddress.ip_address(bound[0] if bound else "0.0.0.0")
    port = struct.pack("!H", bound[1] if bound else 0)
    writer.write(bytes([5, code, 0, 1 if ip.version == 4 else 4]) + ip.packed + port)
    await writer.drain()
