"""The console's admin API through the models function as deployed (API Gateway REST events,
the template's environment, the admin key from Secrets Manager) on the DynamoDB pool and jobs
table in moto: the same calls the console makes locally."""

from __future__ import annotations

import json
import re
from typing import Any

from grokgate.stores.dynamodb import DynamoAccountStore
from grokgate.stores.jobs import Job
from grokgate.stores.jobs_dynamodb import DynamoJobStore
from grokgate.stores.records import account_id_for
from tests.api.admin.admin_support import ADMIN, ADMIN_KEY
from tests.functions.apigw import response as read
from tests.functions.apigw import rest_event
from tests.functions.conftest import Deployment, routes_of
from tests.support import ACCOUNTS, API_KEY, aws_client

NEW_TOKEN = "eyJhbGciOiJIUzI1NiJ9.console-function-0123456789abcdef"
HTTPS = {"X-Forwarded-Proto": "https"}  # what API Gateway adds
ORIGIN = "https://api.example.com"


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    found = {}
    for part in re.split(r",\s*(?=[A-Za-z_]+=)", headers.get("set-cookie", "")):
        name, _, rest = part.partition("=")
        found[name.strip()] = rest.split(";")[0]
    return found


async def test_the_admin_api_works_through_the_models_function_on_dynamodb(
    deployment: Deployment, moto_endpoint: str
) -> None:
    aws_client("secretsmanager", moto_endpoint).put_secret_value(
        SecretId=deployment.names["Secrets"],
        SecretString=json.dumps({"api_keys": API_KEY, "admin_key": ADMIN_KEY}),
    )
    owners = ("owner-a" * 2, "owner-b" * 2)
    jobs = DynamoJobStore(deployment.names["JobsTable"], aws_client("dynamodb", moto_endpoint))
    for index, owner in enumerate(owners):
        await jobs.create(
            Job(
                id=f"video_{index}",
                owner=owner,
                model="grok-imagine-video",
                prompt="p",
                created_at=1000.0 + index,
                updated_at=1000.0 + index,
            )
        )
    host = deployment.start("ModelsFunction")
    routes = routes_of("ModelsFunction")

    def call(method: str, path: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
        return read(host.invoke(rest_event(method, path, routes, **kw)))

    # a script with the admin key as a bearer
    status, _, body = call("GET", "/admin/api/accounts", headers=ADMIN)
    assert status == 200, body
    listed = json.loads(body)["data"]
    assert {a["id"] for a in listed} == {account_id_for(t) for _, t in ACCOUNTS}
    assert all(a["token_hint"].endswith("…") for a in listed)
    assert not any(t in body.decode() for _, t in ACCOUNTS)
    assert call("GET", "/admin/api/accounts")[0] == 401
    status, _, body = call("GET", "/admin/api/jobs", headers=ADMIN)
    assert [j["id"] for j in json.loads(body)["data"]] == ["video_1", "video_0"]

    # a browser: the login page, the form, a Secure session cookie, then a change with CSRF
    status, headers, page = call("GET", "/admin/login", headers=HTTPS)
    assert status == 200 and "content-security-policy" in headers
    login_cookies = _cookies(headers)
    field = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert field
    form = f"key={ADMIN_KEY}&csrf={field[1].decode()}".encode()
    cookie = "; ".join(f"{k}={v}" for k, v in login_cookies.items())
    status, headers, _ = call(
        "POST",
        "/admin/login",
        headers={
            **HTTPS,
            "Origin": ORIGIN,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=form,
    )
    assert status == 303 and "secure" in headers["set-cookie"].lower()
    session = _cookies(headers)
    jar = "; ".join(f"{k}={v}" for k, v in session.items() if v)
    status, _, page = call("GET", "/admin/pool", headers={**HTTPS, "Cookie": jar})
    assert status == 200
    meta = re.search(rb'name="csrf-token" content="([^"]+)"', page)
    assert meta
    csrf = {"Origin": ORIGIN, "X-CSRF-Token": meta[1].decode(), "Cookie": jar, **HTTPS}
    status, _, body = call(
        "POST", "/admin/api/accounts/import", headers=csrf, body={"text": NEW_TOKEN}
    )
    assert status == 200 and json.loads(body)["added"] == 1, body
    new_id = account_id_for(NEW_TOKEN)
    status, _, body = call("POST", f"/admin/api/accounts/{new_id}/disable", headers=csrf)
    assert status == 200 and json.loads(body)["status"] == "disabled"
    forged = {**csrf, "Origin": "https://evil.example"}
    assert call("DELETE", f"/admin/api/accounts/{new_id}", headers=forged)[0] == 403

    store = DynamoAccountStore(
        deployment.names["AccountsTable"], aws_client("dynamodb", moto_endpoint)
    )
    try:
        stored = await store.get_account(new_id)
    finally:
        await store.close()
    assert stored is not None and stored.status.value == "disabled"
    status, _, body = call("DELETE", f"/admin/api/accounts/{new_id}", headers=csrf)
    assert status == 200 and json.loads(body) == {"id": new_id, "removed": True}
