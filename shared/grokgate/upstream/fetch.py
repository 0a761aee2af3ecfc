"""Fetching client-supplied URLs (image and file inputs) without becoming an SSRF proxy.

Rules, checked on the first URL and again on every redirect hop:

* only ``http`` and ``https``; no ``user:password@`` in the URL;
* the host is resolved and the fetch is refused if ANY of its addresses is not globally
  routable (loopback, private, link-local and cloud metadata, CGNAT, unspecified, multicast,
  reserved...); IPv4-mapped, NAT64 and 6to4 IPv6 addresses are judged by the IPv4 address
  inside; IP-literal hosts are judged the same way;
* the connection goes to the address that was checked (the URL's host is swapped for it; the
  ``Host`` header and the TLS SNI name stay the original), so DNS rebinding cannot swap it;
* redirects are followed by hand, at most ``max_redirects``; the body is streamed and cut off
  past ``max_bytes`` (counted after decoding, which stops there too: :mod:`.decode`); the
  whole fetch is bounded by ``timeout``.

Hosts in ``allow_hosts`` (exact ``host:port``) skip the address check only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import httpx

from grokgate.errors import FetchRefusedError, InvalidRequestError
from grokgate.upstream.files import ByteBudget
from grokgate.upstream.http import body_of

__all__ = ["Fetched", "Resolver", "SafeFetcher", "address_problem", "system_resolver"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_USER_AGENT = "Mozilla/5.0 (compatible; grokgate-fetch/1.0)"


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    content_type: str | None  # the media type of the answer, lowercased, without parameters
    url: str  # the final URL, after redirects

    def __repr__(self) -> str:
        size = len(self.data)
        return f"Fetched(url={self.url!r}, content_type={self.content_type!r}, size={size})"


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the event loop's ``getaddrinfo``)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_problem(address: str) -> str | None:
    """Why grokgate must not connect to ``address`` ("a loopback address", ...), or None."""
    try:
        ip: IPAddress = ipaddress.ip_address(address)
    except ValueError:
        return "not a valid IP address"
    inner = _embedded_ipv4(ip)
    if inner is not None:
        problem = address_problem(str(inner))
        return f"an IPv6 address wrapping {inner}, {problem}" if problem else None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (CGNAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a globally routable address"
    return None


def _display(url: httpx.URL) -> str:
    """The URL as error messages show it: no credentials, no query (it may hold a signature)."""
    text = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"
    return text if len(text) <= 200 else text[:199] + "…"


def _host_key(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SafeFetcher:
    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float = 15.0,
        max_redirects: int = 3,
        allow_hosts: Iterable[str] = (),
        resolver: Resolver | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """``http``: a client to use (it must not follow redirects); by default one is built
        on first use (no proxies from the environment, no cookies, no connection reuse)."""
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.allow_hosts = frozenset(h.strip().lower() for h in allow_hosts if h.strip())
        self.resolver: Resolver = resolver or system_resolver
        self._http = http
        self._owns_http = http is None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                trust_env=False,
                follow_redirects=False,
                timeout=httpx.Timeout(self.timeout),
                # a fresh connection per fetch: a pooled one is keyed by IP, not by TLS name
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=0),
            )
            self._http.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        return self._http

    async def aclose(self) -> None:
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None

    async def fetch(self, url: str, *, budget: ByteBudget | None = None) -> Fetched:
        """The body of ``url``; :class:`FetchRefusedError` for a URL that breaks a rule,
        :class:`InvalidRequestError` (``url_unreachable``) when it cannot be fetched. With a
        ``budget``, the body's bytes are also taken from it as they arrive."""
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise FetchRefusedError("refused to fetch the URL: it is not a valid URL") from exc
        try:
            async with asyncio.timeout(self.timeout):
                for _ in range(self.max_redirects + 1):
                    result = await self._hop(current, budget)
                    if isinstance(result, Fetched):
                        return result
                    current = result
        except TimeoutError as exc:
            raise InvalidRequestError(
                f"could not fetch {_display(current)}: no complete answer within "
                f"{self.timeout:g} s",
                code="url_unreachable",
            ) from exc
        raise FetchRefusedError(
            f"refused to fetch {_display(httpx.URL(url))}: more than {self.max_redirects} redirects"
        )

    async def _hop(self, url: httpx.URL, budget: ByteBudget | None) -> Fetched | httpx.URL:
        """One request: the answer, or the URL it redirects to."""
        shown = _display(url)
        scheme = url.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise FetchRefusedError(
                f"refused to fetch {shown}: only http and https URLs can be fetched"
            )
        if url.userinfo:
            raise FetchRefusedError(f"refused to fetch {shown}: the URL contains credentials")
        host = url.raw_host.decode("ascii", "replace").lower()
        if not host:
            raise FetchRefusedError(f"refused to fetch {shown}: the URL has no host")
        port = url.port or _DEFAULT_PORTS[scheme]
        addresses = await self._addresses(host, port, shown)
        response = await self._send(url, host, addresses, shown)
        try:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise _unreachable(shown, f"HTTP {response.status_code} without a Location")
                try:
                    return url.join(location)
                except httpx.InvalidURL as exc:
                    raise FetchRefusedError(
                        f"refused to fetch {shown}: it redirects to an invalid URL"
                    ) from exc
            if not 200 <= response.status_code < 300:
                raise _unreachable(shown, f"the server answered HTTP {response.status_code}")
            data = await self._body(response, shown, budget)
        except httpx.TimeoutException as exc:
            raise _unreachable(shown, "the body did not arrive in time") from exc
        except httpx.HTTPError as exc:
            raise _unreachable(shown, f"the body broke off ({type(exc).__name__})") from exc
        finally:
            await response.aclose()
        content_type = response.headers.get("content-type")
        mime = content_type.split(";", 1)[0].strip().lower() if content_type else None
        return Fetched(data=data, content_type=mime or None, url=str(url))

    async def _send(
        self, url: httpx.URL, host: str, addresses: list[str], shown: str
    ) -> httpx.Response:
        """GET ``url`` from the first of the (checked) ``addresses`` that takes a connection,
        with the original ``Host`` header and TLS name."""
        extensions = {"sni_hostname": host} if url.scheme == "https" and not _is_ip(host) else {}
        headers = {
            "Host": url.netloc.decode("ascii"),
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            "User-Agent": _USER_AGENT,
        }
        failure: httpx.HTTPError | None = None
        for address in addresses:
            request = self._client().build_request(
                "GET", url.copy_with(host=address), headers=headers, extensions=extensions
            )
            try:
                return await self._client().send(request, stream=True)
            except httpx.ConnectError as exc:  # e.g. ::1 first, the server on 127.0.0.1 only
                failure = exc
            except httpx.TimeoutException as exc:
                raise _unreachable(shown, "it did not answer in time") from exc
            except httpx.HTTPError as exc:
                raise _unreachable(shown, f"the connection failed ({type(exc).__name__})") from exc
        raise _unreachable(shown, "the connection failed (ConnectError)") from failure

    async def _addresses(self, host: str, port: int, shown: str) -> list[str]:
        """The addresses to connect to, every one checked."""
        if _is_ip(host):
            addresses = [host]
        else:
            try:
                addresses = await self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise _unreachable(shown, f"the host {host} could not be resolved") from exc
            if not addresses:
                raise _unreachable(shown, f"the host {host} has no address")
        if _host_key(host, port) not in self.allow_hosts:
            for address in addresses:
                problem = address_problem(address)
                if problem is not None:
                    named = address if address == host else f"{host} resolves to {address}, which"
                    raise FetchRefusedError(f"refused to fetch {shown}: {named} is {problem}")
        return [a.split("%", 1)[0] for a in addresses]

    async def _body(self, response: httpx.Response, shown: str, budget: ByteBudget | None) -> bytes:
        too_large = f"refused to fetch {shown}: the body is larger than {self.max_bytes} bytes"
        length = response.headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise FetchRefusedError(too_large)
        if budget is not None and length is not None and length.strip().isdigit():
            budget.check(int(length))
        # We asked for identity, yet a server may encode anyway: its raw bytes are decoded
        # here, a piece at a time, so a decompression bomb stops at max_bytes (httpx's own
        # decoding inflates each network chunk in full before anything is counted).
        chunks: list[bytes] = []
        size = 0
        try:
            async with aclosing(body_of(response)) as pieces:  # type: ignore[type-var]
                async for chunk in pieces:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchRefusedError(too_large)
                    if budget is not None:
                        budget.take(len(chunk))
                    chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise FetchRefusedError(f"refused to fetch {shown}: {exc}") from exc
        return b"".join(chunks)


def _unreachable(shown: str, why: str) -> InvalidRequestError:
    return InvalidRequestError(f"could not fetch {shown}: {why}", code="url_unreachable")
