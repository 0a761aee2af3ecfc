"""The console's defences, against a live gateway: nothing answers without the session (or the
admin key as a bearer), a change needs the CSRF token and a same-origin request, every page has
a strict CSP and no inline script, and no token or key value ever leaves in a page or answer."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from fastapi.routing import APIRoute

from grokgate.admin.session import COOKIE, SessionSigner
from tests.api.admin.admin_support import ADMIN, ADMIN_KEY, change, form_csrf, login, session
from tests.support import ACCOUNTS, API_KEY, GatewayFactory

PUBLIC = {("/login", "GET"), ("/login", "POST"), ("/static/{name}", "GET")}
PAGES = ("/admin/pool", "/admin/health", "/admin/jobs", "/admin/playground")
TOKENS = "\n".join(f"{tier}:{token}" for tier, token in ACCOUNTS[:2])


@pytest.fixture
def admin_gateway(make_gateway: GatewayFactory) -> str:
    return make_gateway(admin_key=ADMIN_KEY, sso_tokens="").url


def console_routes() -> list[tuple[str, str]]:
    from grokgate.admin.api import router as api_router
    from grokgate.admin.pages import router as pages_router

    found = []
    for router in (pages_router, api_router):
        for route in router.routes:
            if isinstance(route, APIRoute):
                found.extend((route.path, method) for method in route.methods)
    return sorted(found)


def concrete(path: str) -> str:
    return "/admin" + re.sub(r"\{[^}]+\}", "acct_0123456789ab", path)


def test_no_admin_route_answers_without_the_session(admin_gateway: str) -> None:
    routes = console_routes()
    assert len(routes) > 10
    client = httpx.Client(base_url=admin_gateway, follow_redirects=False, timeout=30)
    for path, method in routes:
        if (path, method) in PUBLIC:
            continue
        for headers in ({}, {"Authorization": f"Bearer {API_KEY}"}, {"Cookie": f"{COOKIE}=x"}):
            answer = client.request(method, concrete(path), headers=headers)
            if method == "GET" and not path.startswith(("/api", "/doctor")):
                assert answer.status_code == 303, (path, answer.status_code)  # to the login
                assert answer.headers["location"].endswith("login")
            else:
                assert answer.status_code == 401, (method, path, answer.status_code)
                assert answer.json()["error"]["code"] == "admin_session_required"


def test_the_console_is_absent_without_an_admin_key(make_gateway: GatewayFactory) -> None:
    gw = make_gateway()
    for path in ("/admin", "/admin/login", "/admin/pool", "/admin/api/accounts"):
        assert httpx.get(gw.url + path).status_code == 404


def test_a_wrong_key_is_refused_and_the_right_one_opens_a_strict_session(
    admin_gateway: str,
) -> None:
    client, answer = login(admin_gateway, key="not-the-admin-key-at-all")
    assert answer.status_code == 401 and "wrong" in answer.text.lower()
    assert COOKIE not in client.cookies
    _, answer = login(admin_gateway, key=API_KEY)  # a client key is not the admin key
    assert answer.status_code == 401
    client, answer = login(admin_gateway)
    assert answer.status_code == 303 and answer.headers["location"] == "pool"
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE + "=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain HTTP on loopback
    assert any(f.startswith("max-age=") and int(f[8:]) <= 3600 for f in flags)
    assert ADMIN_KEY not in cookie
    # behind API Gateway or Vercel the request arrives as HTTP with X-Forwarded-Proto: https
    https = {"X-Forwarded-Proto": "https"}
    page = httpx.get(f"{admin_gateway}/admin/login", headers=https)
    (login_cookie,) = page.headers.get_list("set-cookie")
    assert "secure" in login_cookie.lower()
    answer = httpx.post(
        f"{admin_gateway}/admin/login",
        data={"key": ADMIN_KEY, "csrf": form_csrf(page.text)},
        headers={**https, "Origin": admin_gateway, "Cookie": login_cookie.split(";")[0]},
    )
    secure = [c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE + "=")]
    assert answer.status_code == 303 and "secure" in secure[0].lower()


def test_a_forged_tampered_or_expired_session_is_refused(admin_gateway: str) -> None:
    signer = SessionSigner(ADMIN_KEY)
    good = signer.issue(time.time())
    other = SessionSigner("another-admin-key-0123456789").issue(time.time())
    old = signer.issue(time.time() - 7200)
    tampered = good.value[:-2] + ("AA" if not good.value.endswith("AA") else "BB")
    for value, status in ((good.value, 200), (other.value, 401), (old.value, 401)):
        got = httpx.get(f"{admin_gateway}/admin/api/accounts", cookies={COOKIE: value})
        assert got.status_code == status
    got = httpx.get(f"{admin_gateway}/admin/api/accounts", cookies={COOKIE: tampered})
    assert got.status_code == 401


def test_a_cross_site_post_is_refused(admin_gateway: str) -> None:
    client, csrf = session(admin_gateway)
    body = {"text": TOKENS}
    url = "/admin/api/accounts/import"
    evil = {"Origin": "https://evil.example", "X-CSRF-Token": csrf}
    assert client.post(url, json=body, headers=evil).status_code == 403
    site = {"Origin": admin_gateway, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    assert client.post(url, json=body, headers=site).status_code == 403
    assert client.post(url, json=body, headers={"Origin": admin_gateway}).status_code == 403
    wrong = {"Origin": admin_gateway, "X-CSRF-Token": csrf[:-1] + "x"}
    assert client.post(url, json=body, headers=wrong).status_code == 403
    assert client.get("/admin/api/accounts").json()["data"] == []  # nothing changed
    # a form posted from another site (no token, or a login form of its own) changes nothing
    form = {"csrf": csrf}
    assert client.post("/admin/logout", data=form, headers=evil).status_code == 403
    anon = httpx.Client(base_url=admin_gateway, timeout=30)
    page = anon.get("/admin/login")
    forged = anon.post(
        "/admin/login",
        data={"key": ADMIN_KEY, "csrf": "forged"},
        headers={"Origin": "https://evil.example"},
    )
    assert page.status_code == 200 and forged.status_code == 403
    # the same change, same-origin and with the token, is done
    answer = client.post(url, json=body, headers=change(client, admin_gateway, csrf))
    assert answer.status_code == 200, answer.text
    assert answer.json()["added"] == 2


def test_scripts_use_the_admin_key_as_a_bearer_without_csrf(admin_gateway: str) -> None:
    url = f"{admin_gateway}/admin/api/accounts/import"
    assert httpx.post(url, json={"text": TOKENS}, headers=ADMIN).json()["added"] == 2
    denied = httpx.post(url, json={"text": TOKENS}, headers={"Authorization": f"Bearer {API_KEY}"})
    assert denied.status_code == 401
    assert len(httpx.get(f"{admin_gateway}/admin/api/accounts", headers=ADMIN).json()["data"]) == 2


def test_every_page_has_a_strict_csp_and_no_inline_script(admin_gateway: str) -> None:
    client, _ = session(admin_gateway)
    anon = httpx.Client(base_url=admin_gateway, timeout=30)
    for answer in [client.get(p) for p in PAGES] + [anon.get("/admin/login")]:
        assert answer.status_code == 200
        csp = answer.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"
        assert "unsafe" not in csp and "http:" not in csp
        assert directives["frame-ancestors"] == "'none'"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "no-store" in answer.headers["cache-control"]
        html = answer.text
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        assert all("src=" in attrs and not body.strip() for attrs, body in scripts)
        assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
        assert "//cdn" not in html and "https://" not in html  # nothing from elsewhere
    for asset in ("console.css", "console.js", "playground.js"):
        got = anon.get(f"/admin/static/{asset}")
        assert got.status_code == 200 and "content-security-policy" in got.headers
    assert anon.get("/admin/static/../session.py").status_code == 404
    assert anon.get("/admin/static/nope.js").status_code == 404


def test_no_token_or_key_value_appears_in_any_page_or_answer(
    admin_gateway: str, make_gateway: GatewayFactory
) -> None:
    client, csrf = session(admin_gateway)
    headers = change(client, admin_gateway, csrf)
    imported = client.post("/admin/api/accounts/import", json={"text": TOKENS}, headers=headers)
    xai = client.post(
        "/admin/api/accounts/import",
        json={"text": "xai-secretkey0123456789abcdef", "kind": "xai_api_key"},
        headers=headers,
    )
    bad = client.post(  # a rejected entry is named by its label, never echoed
        "/admin/api/accounts/import", json={"text": "not a token at all"}, headers=headers
    )
    ids = [a["id"] for a in client.get("/admin/api/accounts").json()["data"]]
    texts = [imported.text, xai.text, bad.text]
    texts += [client.get(p).text for p in PAGES]
    texts += [client.get(f"/admin/api/{p}").text for p in ("accounts", "health", "jobs")]
    for account_id in ids:
        texts.append(client.post(f"/admin/api/accounts/{account_id}/disable", headers=headers).text)
        texts.append(client.post(f"/admin/api/accounts/{account_id}/enable", headers=headers).text)
    secrets = [t for _, t in ACCOUNTS[:2]] + ["xai-secretkey0123456789abcdef", ADMIN_KEY, API_KEY]
    for text in texts:
        for secret in secrets:
            assert secret not in text
            assert secret[8:24] not in text  # not even a slice past the masked hint
    assert "sso-…" in texts[3] or "sso-" in texts[3]  # the masked hints are shown
