"""What every grok.com client holds: where grok.com is, the shared HTTP client, who we say we
are, the Cloudflare cookies (a secret) and how long one call may take. Process-wide and
read-only: no per-request state lives on a client."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from grokgate.logs import get_logger, register_secret
from grokgate.stores.records import Account
from grokgate.upstream.files import Attachment
from grokgate.upstream.grokweb.request import cookie_header
from grokgate.upstream.grokweb.upload import upload_file

log = get_logger("grokweb")


class GrokWebBase:
    def __init__(
        self,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        user_agent: str,
        cf_cookies: str | None = None,
        deadline: float = 300.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.user_agent = user_agent
        self.cf_cookies = cf_cookies
        self.deadline = deadline
        if cf_cookies:
            register_secret(cf_cookies)

    async def _prepare(
        self, account: Account, attachments: Sequence[Attachment]
    ) -> tuple[str, list[str]]:
        """The account's cookie header, and the ids of ``attachments`` uploaded with it (upload
        v2), before any chat: a failed upload is still retryable on another account."""
        token = account.token.get_secret_value()
        register_secret(token)
        cookie = cookie_header(token, self.cf_cookies)
        file_ids: list[str] = []
        for attachment in attachments:
            file_ids.append(
                await upload_file(
                    self.http, self.base_url, attachment, cookie=cookie, user_agent=self.user_agent
                )
            )
        if file_ids:
            log.debug("uploaded %d file(s) for account %s", len(file_ids), account.id)
        return cookie, file_ids
