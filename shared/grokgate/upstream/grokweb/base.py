"""What every grok.com client holds: where grok.com is, the shared HTTP client, who we say we
are, the Cloudflare cookies (a secret) and how long one call may take. Process-wide and
read-only: no per-request state lives on a client."""

from __future__ import annotations

import httpx

from grokgate.logs import register_secret


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
