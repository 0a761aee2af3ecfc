"""What every grok.com client holds: the shared :class:`~grokgate.upstream.grokweb.web.GrokWeb`
(where grok.com is, the browser transport, each account's egress, how long a call may take).
Process-wide and read-only: no per-request state lives on a client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack

from grokgate.logs import get_logger
from grokgate.stores.records import Account
from grokgate.upstream.browser.api import Egress, Response
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.classify import error_of
from grokgate.upstream.grokweb.statsig import Signer
from grokgate.upstream.grokweb.upload import upload_file
from grokgate.upstream.grokweb.web import GrokWeb

log = get_logger("grokweb")


class GrokWebBase:
    signer: Signer  # the clients that make signed REST calls set it

    def __init__(self, web: GrokWeb) -> None:
        self.web = web

    async def _signed(
        self,
        stack: AsyncExitStack,
        egress: Egress,
        path: str,
        body: bytes,
        headers: Callable[[Egress, str], dict[str, str]],
        *,
        seconds: float | None = None,
    ) -> Response:
        """POST a signed call and return its 200 answer, open until ``stack`` closes. A 403
        code 7 re-reads the shared x-statsig-id pair and, when it changed, tries once more with
        a fresh signature; every other non-200 answer is the error it means."""
        for attempt in (1, 2):
            statsig = await self.signer.sign("POST", path)
            opened = AsyncExitStack()
            response = await opened.enter_async_context(
                self.web.open(
                    egress,
                    "POST",
                    self.base_url + path,
                    headers=lambda through, s=statsig: headers(through, s),  # type: ignore[misc]
                    body=body,
                    seconds=seconds,
                )
            )
            if response.status_code == 200:
                stack.push_async_exit(opened)
                return response
            try:
                error = await error_of(response, self.signer)
            finally:
                await opened.aclose()
            if error.code == "upstream_anti_bot":
                self.signer.rejected()
                if attempt == 1 and await self.signer.refresh():
                    log.info("x-statsig-id rejected; retrying %s with the new pair", path)
                    continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

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
