"""What every grok.com client holds: the shared :class:`~grokgate.upstream.grokweb.web.GrokWeb`
(where grok.com is, the browser transport, each account's egress, how long a call may take).
Process-wide and read-only: no per-request state lives on a client."""

from __future__ import annotations

from collections.abc import Sequence

from grokgate.logs import get_logger
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.upload import upload_file
from grokgate.upstream.grokweb.web import GrokWeb

log = get_logger("grokweb")


class GrokWebBase:
    def __init__(self, web: GrokWeb) -> None:
        self.web = web

    @property
    def base_url(self) -> str:
        return self.web.base_url

    @property
    def deadline(self) -> float:
        return self.web.deadline

    async def _prepare(
        self, account: Account, attachments: Sequence[Attachment]
    ) -> tuple[Egress, list[str]]:
        """The account's egress, and the ids of ``attachments`` uploaded with it (upload v2),
        before any chat: a failed upload is still retryable on another account."""
        egress = await self.web.egress(account)
        file_ids: list[str] = []
        for attachment in attachments:
            file_ids.append(await upload_file(self.web, egress, account, attachment))
        if file_ids:
            log.debug("uploaded %d file(s) for account %s", len(file_ids), account.id)
        return egress, file_ids
