"""Helpers of the console's tests: log in as a browser does, read the CSRF token of a page."""

from __future__ import annotations

import re

import httpx

ADMIN_KEY = "admin-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_FIELD = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


def meta_csrf(html: str) -> str:
    found = _META.search(html)
    assert found, "the page carries no CSRF token"
    return found[1]


def form_csrf(html: str) -> str:
    found = _FIELD.search(html)
    assert found, "the form carries no CSRF field"
    return found[1]


def login(base: str, key: str = ADMIN_KEY, **headers: str) -> tuple[httpx.Client, httpx.Response]:
    """A client that opened the login page and posted ``key`` from it (same origin)."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/admin/login", headers=headers)
    assert page.status_code == 200, page.text
    answer = client.post(
        "/admin/login",
        data={"key": key, "csrf": form_csrf(page.text)},
        headers={"Origin": base, **headers},
    )
    return client, answer


def session(base: str) -> tuple[httpx.Client, str]:
    """A logged-in client and the CSRF token its pages carry."""
    client, answer = login(base)
    assert answer.status_code == 303, answer.text
    page = client.get("/admin/pool")
    assert page.status_code == 200, page.text
    return client, meta_csrf(page.text)


def change(client: httpx.Client, base: str, csrf: str) -> dict[str, str]:
    """The headers a console page's script sends with a change."""
    return {"Origin": base, "X-CSRF-Token": csrf}
