"""The xAI API: its HTTP client and the relay that forwards xAI models' requests with the
pool's xAI keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.runtime.cached import cached

if TYPE_CHECKING:
    import httpx

    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.relay import RelayService
    from grokgate.upstream.xai.client import XaiClient


class XaiParts:
    settings: Settings

    if TYPE_CHECKING:  # from the other parts of Runtime

        async def pool(self) -> AccountPool: ...

    @cached
    def xai_http(self) -> httpx.AsyncClient:
        from grokgate.upstream.http import new_http_client

        s = self.settings
        return new_http_client(
            connect_timeout=s.connect_timeout,
            idle_timeout=s.idle_timeout,
            verify=s.xai_ca_file or True,
        )

    @cached
    def xai_client(self) -> XaiClient:
        from grokgate.upstream.xai.client import XaiClient

        s = self.settings
        return XaiClient(base_url=s.xai_base_url, http=self.xai_http(), deadline=s.request_deadline)

    @cached
    async def relay_service(self) -> RelayService:
        """Forwards requests for xAI models to the xAI API with the pool's xAI keys."""
        pool = await self.pool()
        from grokgate.core.relay import RelayService

        return RelayService(pool, self.xai_client(), max_retries=self.settings.max_retries)

    async def close_xai(self) -> None:
        http: httpx.AsyncClient | None = XaiParts.xai_http.forget(self)
        if http is not None:
            await http.aclose()
        XaiParts.relay_service.forget(self)
