"""SafeFetcher: SSRF refusals, pinning, redirects, size limits (loopback server + MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from grokgate.errors import FetchRefusedError, InvalidRequestError
from grokgate.simulator.server import ServerThread
from grokgate.upstream.fetch import SafeFetcher, address_problem
from tests.support import free_port

PUBLIC = "93.184.216.34"


async def _ok(request: Request) -> Response:
    return Response(b"hello bytes", media_type="text/plain; charset=utf-8")


async def _redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=302)


async def _status(request: Request) -> Response:
    return Response(b"nope", status_code=int(request.path_params["code"]))


async def _stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 500

    return StreamingResponse(body(), media_type="application/octet-stream")


async def _sized(request: Request) -> Response:
    return Response(b"y" * 5000, media_type="application/octet-stream")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/ok", _ok),
            Route("/redirect", _redirect),
            Route("/status/{code:int}", _status),
            Route("/stream", _stream),
            Route("/sized", _sized),
        ]
    )
    with ServerThread(app) as running:
        yield running.url


def allowed(server: str, **kwargs: object) -> SafeFetcher:
    netloc = urlsplit(server).netloc
    return SafeFetcher(max_bytes=1000, timeout=5.0, allow_hosts=[netloc], **kwargs)  # type: ignore[arg-type]


def no_network() -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request may be sent, got {request.url}")

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def resolver_of(table: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/x", "127.0.0.1 is a loopback address"),
        ("http://127.9.9.9/", "loopback"),
        ("http://[::1]:80/", "::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.3.4/", "private"),
        ("https://192.168.1.1/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://224.0.0.251/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://[fd00:ec2::254]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::ffff:127.0.0.1]/", "wrapping 127.0.0.1, a loopback address"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[64:ff9b::a00:1]/", "wrapping 10.0.0.1, a private address"),
    ],
)
async def test_private_ip_literals_are_refused(url: str, reason: str) -> None:
    fetcher = SafeFetcher(max_bytes=1000, resolver=resolver_of({}), http=no_network())
    with pytest.raises(FetchRefusedError) as info:
        await fetcher.fetch(url)
    assert info.value.status == 400 and info.value.code == "url_refused"
    assert info.value.message.startswith("refused to fetch http")
    assert reason in info.value.message


async def test_localhost_is_refused_through_the_system_resolver() -> None:
    fetcher = SafeFetcher(max_bytes=1000, http=no_network())
    with pytest.raises(FetchRefusedError, match=r"localhost resolves to .*loopback"):
        await fetcher.fetch(f"http://localhost:{free_port()}/x")


async def test_a_name_with_any_private_address_is_refused() -> None:
    resolve = resolver_of({"evil.example": [PUBLIC, "10.1.2.3"]})
    fetcher = SafeFetcher(max_bytes=1000, resolver=resolve, http=no_network())
    with pytest.raises(FetchRefusedError, match=r"evil\.example resolves to 10\.1\.2\.3"):
        await fetcher.fetch("https://evil.example/cat.png")


def test_public_addresses_pass_the_check() -> None:
    assert address_problem(PUBLIC) is None
    assert address_problem("2606:4700::1111") is None
    assert address_problem("::ffff:8.8.8.8") is None
    assert address_problem("not-an-ip") is not None


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"]
)
async def test_other_schemes_are_refused(url: str) -> None:
    fetcher = SafeFetcher(max_bytes=1000, resolver=resolver_of({}), http=no_network())
    with pytest.raises(FetchRefusedError, match="only http and https"):
        await fetcher.fetch(url)


async def test_credentials_in_the_url_are_refused_and_not_repeated() -> None:
    fetcher = SafeFetcher(max_bytes=1000, resolver=resolver_of({}), http=no_network())
    with pytest.raises(FetchRefusedError) as info:
        await fetcher.fetch("https://alice:hunter2secret@example.com/a.png?sig=topsecret")
    assert "credentials" in info.value.message
    assert "hunter2secret" not in info.value.message
    assert "topsecret" not in info.value.message


async def test_connects_to_the_checked_address_with_the_original_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"img", headers={"content-type": "IMAGE/PNG; x=y"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    resolve = resolver_of({"files.example": [PUBLIC]})
    fetched = await SafeFetcher(max_bytes=1000, resolver=resolve, http=http).fetch(
        "https://files.example:8443/a/cat.png?x=1"
    )
    assert fetched.data == b"img" and fetched.content_type == "image/png"
    assert fetched.url == "https://files.example:8443/a/cat.png?x=1"
    (request,) = seen
    assert request.url.host == PUBLIC and request.url.port == 8443
    assert request.url.raw_path == b"/a/cat.png?x=1"
    assert request.headers["host"] == "files.example:8443"
    assert request.extensions["sni_hostname"] == "files.example"
    assert "cookie" not in request.headers


async def test_dns_rebinding_on_a_redirect_hop_is_refused() -> None:
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    sent: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        return next(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(302, headers={"location": "/again"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    fetcher = SafeFetcher(max_bytes=1000, resolver=resolve, http=http)
    with pytest.raises(FetchRefusedError, match=r"rebind\.example resolves to 127\.0\.0\.1"):
        await fetcher.fetch("http://rebind.example/first")
    assert sent == [f"http://{PUBLIC}/first"]


async def test_an_allowed_host_is_fetched(server: str) -> None:
    fetcher = allowed(server)
    try:
        fetched = await fetcher.fetch(f"{server}/ok")
    finally:
        await fetcher.aclose()
    assert fetched.data == b"hello bytes"
    assert fetched.content_type == "text/plain"


async def test_the_loopback_server_is_refused_when_not_allowed(server: str) -> None:
    fetcher = SafeFetcher(max_bytes=1000)
    with pytest.raises(FetchRefusedError, match="loopback"):
        await fetcher.fetch(f"{server}/ok")
    await fetcher.aclose()


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "ftp://example.com/x",
    ],
)
async def test_redirects_to_refused_targets_are_refused(server: str, target: str) -> None:
    fetcher = allowed(server)
    target = target.format(port=free_port())
    try:
        with pytest.raises(FetchRefusedError) as info:
            await fetcher.fetch(f"{server}/redirect?to={quote(target, safe='')}")
    finally:
        await fetcher.aclose()
    assert info.value.code == "url_refused"
    assert urlsplit(target).scheme + "://" in info.value.message


def _chain(server: str, hops: int) -> str:
    url = f"{server}/ok"
    for _ in range(hops):
        url = f"{server}/redirect?to={quote(url, safe='')}"
    return url


async def test_redirects_are_followed_up_to_the_limit(server: str) -> None:
    fetcher = allowed(server)
    try:
        fetched = await fetcher.fetch(_chain(server, 3))
        assert fetched.data == b"hello bytes"
        assert fetched.url == f"{server}/ok"
        with pytest.raises(FetchRefusedError, match="more than 3 redirects"):
            await fetcher.fetch(_chain(server, 4))
    finally:
        await fetcher.aclose()


async def test_an_oversized_content_length_is_refused_before_reading() -> None:
    class Exploding(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            raise AssertionError("the body must not be read")
            yield b""  # pragma: no cover

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": "999999999"}, stream=Exploding())

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    fetcher = SafeFetcher(max_bytes=1000, resolver=resolver_of({"a.example": [PUBLIC]}), http=http)
    with pytest.raises(FetchRefusedError, match="larger than 1000 bytes"):
        await fetcher.fetch("http://a.example/big")


@pytest.mark.parametrize("path", ["/sized", "/stream"])
async def test_an_oversized_body_is_refused(server: str, path: str) -> None:
    fetcher = allowed(server)
    try:
        with pytest.raises(FetchRefusedError, match="larger than 1000 bytes"):
            await fetcher.fetch(f"{server}{path}")
    finally:
        await fetcher.aclose()


async def test_a_non_2xx_answer_is_unreachable(server: str) -> None:
    fetcher = allowed(server)
    try:
        with pytest.raises(InvalidRequestError) as info:
            await fetcher.fetch(f"{server}/status/404")
    finally:
        await fetcher.aclose()
    assert not isinstance(info.value, FetchRefusedError)
    assert info.value.status == 400 and info.value.code == "url_unreachable"
    assert "HTTP 404" in info.value.message


async def test_a_closed_port_is_unreachable() -> None:
    port = free_port()
    fetcher = SafeFetcher(max_bytes=1000, allow_hosts=[f"127.0.0.1:{port}"])
    with pytest.raises(InvalidRequestError) as info:
        await fetcher.fetch(f"http://127.0.0.1:{port}/x")
    await fetcher.aclose()
    assert info.value.code == "url_unreachable"


async def test_an_unresolvable_host_is_unreachable() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    fetcher = SafeFetcher(max_bytes=1000, resolver=resolve, http=no_network())
    with pytest.raises(InvalidRequestError) as info:
        await fetcher.fetch("http://nowhere.invalid/x")
    assert info.value.code == "url_unreachable"
    assert "could not be resolved" in info.value.message


async def test_the_whole_fetch_is_bounded_by_the_timeout() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)  # pragma: no cover

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    resolve = resolver_of({"slow.example": [PUBLIC]})
    fetcher = SafeFetcher(max_bytes=1000, timeout=0.2, resolver=resolve, http=http)
    with pytest.raises(InvalidRequestError) as info:
        await fetcher.fetch("http://slow.example/x")
    assert info.value.code == "url_unreachable"
    assert "0.2 s" in info.value.message


async def test_the_next_checked_address_is_tried_when_one_refuses(server: str) -> None:
    port = urlsplit(server).port
    resolve = resolver_of({"localhost": ["::1", "127.0.0.1"]})
    fetcher = SafeFetcher(max_bytes=1000, allow_hosts=[f"localhost:{port}"], resolver=resolve)
    try:
        fetched = await fetcher.fetch(f"http://localhost:{port}/ok")
    finally:
        await fetcher.aclose()
    assert fetched.data == b"hello bytes"
