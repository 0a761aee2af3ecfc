"""Media URLs of grok.com and their downloads (docs/grok-protocol.md §2.3, §6.5).

grok.com names its files either by a relative path (``users/<uid>/generated/<id>/image.jpg``) or
by an absolute ``https://assets.grok.com/<path>``; both map to ``<assets_url>/<path>``, which
needs the owning account's cookies. URLs on the public hosts (``imagine-public.x.ai``,
``imgen.x.ai``) open without cookies and pass through unchanged. Any other host is refused: the
account's cookies must never reach a host grokgate does not know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from grokgate.errors import TransportTimeoutError, UpstreamError, UpstreamTimeoutError
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress
from grokgate.upstream.browser.profiles import Fingerprint
from grokgate.upstream.grokweb.classify import error_of
from grokgate.upstream.grokweb.media_types import Downloaded
from grokgate.upstream.grokweb.request import navigate_headers
from grokgate.upstream.grokweb.web import GrokWeb
from grokgate.upstream.http import read_capped

GROK_ASSETS = "https://assets.grok.com"
PUBLIC_HOSTS = ("imagine-public.x.ai", "imgen.x.ai")
RETRY_STATUSES = frozenset({403, 408, 425, 429})
DOWNLOAD_RETRY_DELAYS = (0.2, 0.75)  # GO3: two retries, 200 ms then 750 ms
_ACCEPT = {
    "image": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "video": "video/mp4,video/webm,video/*;q=0.9,*/*;q=0.8",
}

Kind = Literal["image", "video"]


@dataclass(frozen=True, slots=True)
class AssetHosts:
    """Where grok.com's media lives for this deployment."""

    assets_url: str = GROK_ASSETS
    public_hosts: Sequence[str] = PUBLIC_HOSTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "assets_url", self.assets_url.rstrip("/"))
        object.__setattr__(self, "public_hosts", tuple(h.lower() for h in self.public_hosts))

    def map(self, path_or_url: str) -> tuple[str, bool]:
        """``(absolute URL, public?)`` for a URL or path grok.com named.

        Raises :class:`UpstreamError` for a URL on a host that is neither the asset host nor a
        public one (or a path that tries to leave the asset host's tree).
        """
        raw = path_or_url.strip()
        parts = urlsplit(raw)
        if not parts.scheme and not parts.netloc:
            return self._under_assets(raw.lstrip("/")), False
        host = (parts.hostname or "").lower()
        if parts.scheme.lower() in ("http", "https") and host in self.public_hosts:
            return raw, True
        if parts.scheme.lower() == "https" and host == "assets.grok.com":
            path = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
            return self._under_assets(path), False
        if self.needs_cookies(raw):
            return raw, False
        raise UpstreamError("grok.com named a media URL on an unexpected host")

    def needs_cookies(self, url: str) -> bool:
        """Whether ``url`` lies under the asset host (the only place cookies may go)."""
        base = urlsplit(self.assets_url)
        parts = urlsplit(url)
        prefix = base.path.rstrip("/") + "/"
        return (
            parts.scheme.lower() == base.scheme.lower()
            and parts.netloc.lower() == base.netloc.lower()
            and parts.path.startswith(prefix)
            and _safe_path(parts.path[len(prefix) :])
        )

    def is_public(self, url: str) -> bool:
        parts = urlsplit(url)
        return (
            parts.scheme.lower() in ("http", "https")
            and (parts.hostname or "").lower() in self.public_hosts
        )

    def _under_assets(self, path: str) -> str:
        if not path or not _safe_path(path.split("?", 1)[0]):
            raise UpstreamError("grok.com named a media path grokgate will not fetch")
        return f"{self.assets_url}/{path}"


def _safe_path(path: str) -> bool:
    return "\\" not in path and not any(seg in (".", "..") for seg in path.split("/"))


def download_headers(kind: Kind, *, fingerprint: Fingerprint, cookie: str | None) -> dict[str, str]:
    """The browser's headers for opening a media file (§2.3): a navigation, not a fetch (no
    Origin, no JSON type, no app headers), with cookies only when given (asset host)."""
    return navigate_headers(accept=_ACCEPT[kind], fingerprint=fingerprint, cookie=cookie)


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _too_large(max_bytes: int) -> UpstreamError:
    return UpstreamError(
        f"the media file is larger than {max_bytes} bytes", retryable=False, code="media_too_large"
    )


async def _fetch_once(
    web: GrokWeb,
    egress: Egress,
    url: str,
    headers: Callable[[Egress], dict[str, str]],
    kind: Kind,
    max_bytes: int,
) -> Downloaded:
    async with web.open(egress, "GET", url, headers=headers) as response:
        if response.status_code != 200:
            raise await error_of(response)
        mime = _mime(response.headers.get("content-type", ""))
        if not mime.startswith(f"{kind}/"):
            raise UpstreamError(
                f"the media file has type {mime or 'none'!r}, not {kind}/*", retryable=False
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(max_bytes)
        data = await read_capped(response, max_bytes)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return Downloaded(data, mime)


async def download(
    web: GrokWeb,
    account: Account,
    url: str,
    *,
    kind: Kind,
    hosts: AssetHosts,
    max_bytes: int,
    seconds: float,
    delays: Sequence[float] = DOWNLOAD_RETRY_DELAYS,
) -> Downloaded:
    """Fetch ``url`` through ``account``'s egress (asset host with its cookies, public host
    without; nothing else). A path or an ``https://assets.grok.com/`` URL is first mapped to
    the asset host (:meth:`AssetHosts.map`).

    Retries 403/408/425/429/5xx after each of ``delays``; the whole call is bounded by
    ``seconds``. Every failure is an :class:`UpstreamError`.
    """
    refused = UpstreamError(
        "refusing to download a media URL outside grok.com's asset and public hosts",
        retryable=False,
        code="media_url_refused",
    )
    try:
        url, _ = hosts.map(url)
    except UpstreamError as exc:
        raise refused from exc
    if hosts.needs_cookies(url):
        with_cookies = True
    elif hosts.is_public(url):
        with_cookies = False
    else:
        raise refused

    def headers(through: Egress) -> dict[str, str]:
        cookie = web.cookie(account, through) if with_cookies else None
        return download_headers(kind, fingerprint=through.fingerprint, cookie=cookie)

    try:
        async with asyncio.timeout(seconds):
            egress = await web.egress(account)
            for attempt in range(len(delays) + 1):
                try:
                    return await _fetch_once(web, egress, url, headers, kind, max_bytes)
                except UpstreamError as exc:
                    status = exc.upstream_status or 0
                    retry = status in RETRY_STATUSES or status >= 500
                    if not retry or attempt == len(delays):
                        raise
                await asyncio.sleep(delays[attempt])
    except (TimeoutError, TransportTimeoutError) as exc:
        raise UpstreamTimeoutError("grok.com's media file did not arrive in time") from exc
    raise AssertionError("unreachable")  # pragma: no cover
