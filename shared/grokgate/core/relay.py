"""The relay service: requests for xAI API models, forwarded almost unchanged.

The xAI API already speaks OpenAI's and Anthropic's shapes, so nothing is translated: the body
goes upstream as the client sent it, with ``model`` set to the xAI id, on the best xAI key of the
pool. A 429 or an outage is retried on another key (while nothing reached the client); streams
are passed on event by event, holding the key's lease until the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from grokgate.core.accounts.attempts import stream_with_account, with_account
from grokgate.core.accounts.pool import AccountPool
from grokgate.core.registry import ModelSpec
from grokgate.events import Served
from grokgate.stores.records import Account, Lease
from grokgate.upstream.xai.client import XaiEvent

RelayEvent = Served | XaiEvent


class RelayUpstream(Protocol):
    async def call(
        self,
        account: Account,
        path: str,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> tuple[bytes, str]: ...

    def stream(
        self,
        account: Account,
        path: str,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> AsyncIterator[RelayEvent]: ...


class RelayService:
    def __init__(self, pool: AccountPool, upstream: RelayUpstream, *, max_retries: int = 1):
        self.pool = pool
        self.upstream = upstream
        self.max_retries = max_retries

    async def call(
        self,
        spec: ModelSpec,
        path: str,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> tuple[bytes, str]:
        """A non-streamed answer: its bytes and content type, as the upstream sent them."""
        sent = {**body, "model": spec.target}

        async def work(account: Account) -> tuple[bytes, str]:
            return await self.upstream.call(account, path, sent, extra)

        return await with_account(self.pool, spec, work, max_retries=self.max_retries)

    def stream(
        self,
        spec: ModelSpec,
        path: str,
        body: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> AsyncIterator[RelayEvent]:
        """:class:`Served` once a key's request was accepted, then the upstream's events."""
        sent = {**body, "model": spec.target}

        def work(account: Account, lease: Lease) -> AsyncIterator[RelayEvent]:
            return self.upstream.stream(account, path, sent, extra)

        return stream_with_account(
            self.pool,
            spec,
            work,
            visible=lambda event: isinstance(event, XaiEvent),
            max_retries=self.max_retries,
        )
