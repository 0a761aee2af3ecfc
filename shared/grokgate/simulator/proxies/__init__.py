"""Loopback egress proxies for tests: an HTTP proxy (CONNECT and absolute-form) and SOCKS5.

    async with ConnectProxy(username="u", password="p", source_address="127.0.0.2") as proxy:
        await AsyncSession(impersonate="chrome146", proxy=proxy.url).get(backend_url)
    with ProxyThread(Socks5Proxy(source_address="127.0.0.3")) as proxy:  # socks5h://127.0.0.1:…
        ...   # proxy.records[-1].target, proxy.proxy.count(outcome="ok"); proxy.kill()

* Every outgoing connection is bound to ``source_address`` (any 127.x.y.z on Linux), so the
  server behind sees one address per proxy ("one egress IP per account").
* Only loopback targets (127.0.0.0/8, ::1) are reached, and names never go to DNS: a name
  resolves through ``hosts`` (``{"grok.com:443": "127.0.0.1:8443"}``, ``{"grok.com":
  "127.0.0.1"}``) or is ``localhost``; anything else is refused (HTTP 403, SOCKS reply 2).
* Missing or wrong credentials get ``407`` + ``Proxy-Authenticate: Basic`` (HTTP), RFC 1929
  status 1 or "no acceptable methods" (SOCKS). ``fail_with`` (settable any time) answers every
  authenticated request with that HTTP status (502…) or SOCKS reply code (1…); ``stall=True``
  accepts connections and never answers.
* ``stop()`` (``ProxyThread.kill()``) closes the listener and aborts every open connection and
  tunnel at once; new connections are refused. ``start()`` again rebinds the same port.

Absolute-form (``GET http://host/path``: what curl and httpx send for ``http://`` URLs; curl
tunnels ``ws://`` with CONNECT) is rewritten to origin-form without hop-by-hop headers
(``Proxy-Authorization``, ``Proxy-Connection``, what ``Connection`` names, e.g. chrome's h2c
offer) over a fresh upstream connection. Limit: one request per client connection
(``Connection: close`` both ways); a websocket ``Upgrade`` is relayed both ways instead.
"""

from grokgate.simulator.proxies.base import LoopbackProxy, ProxyRecord
from grokgate.simulator.proxies.connect import ConnectProxy
from grokgate.simulator.proxies.socks import Socks5Proxy
from grokgate.simulator.proxies.thread import ProxyThread

__all__ = ["ConnectProxy", "LoopbackProxy", "ProxyRecord", "ProxyThread", "Socks5Proxy"]
