"""A Cloudflare-like TLS edge in front of the grok.com simulator, and a TLS/HTTP2 fingerprint
probe: it records every connection's ClientHello (JA4), HTTP/2 SETTINGS / WINDOW_UPDATE /
pseudo-header order, and (``mode="cloudflare"``) blocks or challenges what is not Chrome.

Usage::

    from grokgate.simulator.edge import EdgeThread, verdict

    with ServerThread(create_app(state)) as sim, EdgeThread(sim, mode="cloudflare") as edge:
        # clients trust edge.ca_file and call edge.url (https://localhost:PORT)
        print(verdict(edge.connections[-1]))
"""

from __future__ import annotations

from .edge import Edge, EdgeMode, EdgeThread
from .forward import CLIENT_IP_HEADER
from .h2wire import H2Preface, H2Sniffer, Priority, akamai_fingerprint, pseudo_order
from .hello import ClientHello, client_hello_complete, is_grease
from .pages import SOLVE_PATH, Clearances, LocalResponse, cookie_domain
from .records import ConnectionRecord, RequestRecord
from .tlsio import DEFAULT_HOSTS, EdgeCertificates
from .verdict import (
    CHROME_146,
    CHROME_150,
    CHROME_152,
    CHROME_PROFILES,
    BrowserProfile,
    Verdict,
    is_chrome,
    verdict,
)

__all__ = [
    "CHROME_146",
    "CHROME_150",
    "CHROME_152",
    "CHROME_PROFILES",
    "CLIENT_IP_HEADER",
    "DEFAULT_HOSTS",
    "SOLVE_PATH",
    "BrowserProfile",
    "Clearances",
    "ClientHello",
    "ConnectionRecord",
    "Edge",
    "EdgeCertificates",
    "EdgeMode",
    "EdgeThread",
    "H2Preface",
    "H2Sniffer",
    "LocalResponse",
    "Priority",
    "RequestRecord",
    "Verdict",
    "akamai_fingerprint",
    "client_hello_complete",
    "cookie_domain",
    "is_chrome",
    "is_grease",
    "pseudo_order",
    "verdict",
]
