"""One sticky egress per account, end to end.

Two grok.com accounts, two loopback proxies (an HTTP CONNECT one bound to 127.0.0.2, a SOCKS5
one bound to 127.0.0.3, both with credentials), two gateway instances sharing one DynamoDB pool
(moto over HTTP). The simulator sits behind the edge in probe mode, which records the source
address of every connection: each account's chat, uploads, downloads and both WebSockets must
arrive from its own proxy's address, whichever instance served it. Then one proxy is killed.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from grokgate.api.app import create_app
from grokgate.simulator.edge import EdgeThread
from grokgate.simulator.proxies import ConnectProxy, ProxyThread, Socks5Proxy
from grokgate.simulator.server import ServerThread
from grokgate.simulator.uploads import tiny_png
from grokgate.stores.dynamodb import DynamoAccountStore
from grokgate.stores.records import Status, Tier, account_id_for
from grokgate.upstream.egress import _weight, proxy_key
from tests.conftest import gateway_settings
from tests.sdk import openai_client as client
from tests.support import GatewayFactory, Sim, aws_client, new_dynamodb_table

HTTP_PASSWORD = "http-pa55-Zq9"
SOCKS_PASSWORD = "socks-pa55-Xw7"
CALLS = {
    "chat": "/rest/app-chat/conversations/new",
    "upload": "/http/upload-file-v2/direct",
    "session": "/api/auth/session",
    "download": "/assets/",
    "chat socket": "/ws/mgw/",
    "imagine socket": "/ws/imagine/listen",
}


@pytest.fixture
def proxies() -> Iterator[tuple[ProxyThread, ProxyThread]]:
    http = ConnectProxy(username="gg", password=HTTP_PASSWORD, source_address="127.0.0.2")
    socks = Socks5Proxy(username="gg", password=SOCKS_PASSWORD, source_address="127.0.0.3")
    with ProxyThread(http) as a, ProxyThread(socks) as b:
        yield a, b


def _two_accounts(keys: list[str]) -> dict[str, str]:
    """Two simulator accounts whose rendezvous pins land on different proxies (token → key)."""
    candidates = [f"sso-egress-{i}-eyJhbGciOiJIUzI1NiJ9" for i in range(8)]
    pins = {t: max(keys, key=lambda k, t=t: _weight(account_id_for(t), k)) for t in candidates}
    for first in candidates:
        for second in candidates:
            if pins[first] != pins[second]:
                return {first: pins[first], second: pins[second]}
    raise AssertionError("every candidate pins to the same proxy")


def _mark(edge: EdgeThread) -> dict[int, int]:
    """How many requests each connection has carried so far (kept-alive ones carry more)."""
    return {id(record): len(record.requests) for record in list(edge.connections)}


def _calls_by_source(
    edge: EdgeThread, since: dict[int, int] | None = None
) -> dict[str, dict[str, set[str]]]:
    """SSO token → call kind → the source addresses it arrived from (after ``since``)."""
    seen: dict[str, dict[str, set[str]]] = {}
    for record in list(edge.connections):
        for request in record.requests[(since or {}).get(id(record), 0) :]:
            token = request.cookies.get("sso")
            if not token:
                continue
            for kind, prefix in CALLS.items():
                if request.path.startswith(prefix):
                    seen.setdefault(token, {}).setdefault(kind, set()).add(record.ip)
    return seen


def _exercise(sdk: openai.OpenAI) -> None:
    """A chat with a picture, an image and an edit; a 503 "busy" (an instance's pool view is
    briefly stale after the test flips an account's status) is retried as a client would."""
    picture = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": picture}},
    ]
    calls = [
        lambda: (
            sdk.chat.completions.create(
                model="grok-4.20-auto", messages=[{"role": "user", "content": content}]
            )
            .choices[0]
            .message.content
        ),
        lambda: (
            sdk.images.generate(
                model="grok-imagine-image", prompt="a fox", response_format="url"
            ).data
        ),
        lambda: (
            sdk.images.edit(  # its picture is downloaded from the asset host
                model="grok-imagine-image-edit",
                image=("a.png", tiny_png(), "image/png"),
                prompt="x",
            ).data
        ),
    ]
    for call in calls:
        _retrying(call)


def _retrying(call: Callable[[], object]) -> None:
    for attempt in range(20):
        try:
            assert call()
            return
        except openai.InternalServerError as exc:
            if exc.status_code != 503 or attempt == 19:
                raise
            time.sleep(0.3)


def test_each_account_always_leaves_from_its_own_proxy(
    sim: Sim,
    moto_endpoint: str,
    tmp_path: Path,
    proxies: tuple[ProxyThread, ProxyThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    a_proxy, b_proxy = proxies
    keys = [proxy_key(a_proxy.url), proxy_key(b_proxy.url)]
    accounts = _two_accounts(keys)
    for token in accounts:
        sim.state.add_account(token, "super")
    source = {proxy_key(a_proxy.url): "127.0.0.2", proxy_key(b_proxy.url): "127.0.0.3"}
    table = new_dynamodb_table(moto_endpoint)
    with EdgeThread(sim.url, mode="probe") as edge:
        common = {
            "grok_base_url": edge.url,
            "grok_assets_url": f"{edge.url}/assets",
            "grok_ca_file": edge.ca_file,
            "sso_tokens": ",".join(f"super:{t}" for t in accounts),
            "store": "dynamodb",
            "dynamodb_table": table,
            "aws_endpoint_url": moto_endpoint,
            "aws_region": "us-east-1",
            "proxies": f"{a_proxy.url},{b_proxy.url}",
            "proxy_rest_seconds": 0.2,
            "proxy_dead_after": 2,
            "pool_snapshot_seconds": 0.2,
        }
        servers = [
            ServerThread(
                create_app(
                    settings=gateway_settings(
                        sim.url, tmp_path / f"gw{i}", web_chat_transport=transport, **common
                    )
                )
            )
            for i, transport in enumerate(("ws", "rest"))
        ]
        try:
            sdks = [client(server.start()) for server in servers]
            store = DynamoAccountStore(table, aws_client("dynamodb", moto_endpoint))
            for token in accounts:  # in the table before the instances' lazy start adds them
                _run(store.add_account(token, Tier.SUPER))
            for token in accounts:  # each account in turn serves everything, on both instances
                others = [account_id_for(t) for t in accounts if t != token]
                for other in others:
                    _run(store.set_status(other, Status.DISABLED))
                time.sleep(1.2)  # a failed lease then re-reads the pool (stale view over 1 s)
                for sdk in sdks:
                    _exercise(sdk)
                for other in others:
                    _run(store.set_status(other, Status.ACTIVE))
            seen = _calls_by_source(edge)
            for token in accounts:
                assert set(CALLS) <= set(seen.get(token, {})), (token, seen.get(token))
            for token, key in accounts.items():
                for kind, addresses in seen[token].items():
                    assert addresses == {source[key]}, (token, kind, addresses)
            assert all(r.outcome == "ok" for r in a_proxy.records + b_proxy.records)
            assert {r.authenticated for r in a_proxy.records + b_proxy.records} == {True}
            pins = {a.id: a.egress for a in _run(store.list_accounts())}
            assert pins == {account_id_for(t): k for t, k in accounts.items()}

            # Kill one proxy: the next requests are served by the other account, the dead
            # proxy's account stays active and, once the proxy is declared dead, moves.
            (victim,) = [t for t, k in accounts.items() if k == keys[0]]
            a_proxy.kill()
            moved = False
            for attempt in range(40):
                sdk = sdks[attempt % 2]
                _retrying(
                    lambda sdk=sdk: (
                        sdk.chat.completions.create(
                            model="grok-4.20-auto", messages=[{"role": "user", "content": "hi"}]
                        )
                        .choices[0]
                        .message.content
                    )
                )
                account = {a.id: a for a in _run(store.list_accounts())}[account_id_for(victim)]
                assert account.status is Status.ACTIVE and account.health == 1.0
                if account.egress == keys[1]:
                    moved = True
                    break
                time.sleep(0.25)
            assert moved, "the dead proxy's account was never moved"
            mark = _mark(edge)  # now the moved account serves everything, from the live proxy
            (survivor,) = [account_id_for(t) for t in accounts if t != victim]
            _run(store.set_status(survivor, Status.DISABLED))
            time.sleep(1.2)
            for sdk in sdks:
                _exercise(sdk)
            moved_calls = _calls_by_source(edge, mark)[victim]
            assert {"chat", "chat socket", "imagine socket", "download"} <= set(moved_calls)
            assert set().union(*moved_calls.values()) == {"127.0.0.3"}
        finally:
            for server in servers:
                server.stop()


def _run(coro):  # type: ignore[no-untyped-def]
    import asyncio

    return asyncio.run(coro)


@pytest.mark.parametrize("front", ["https", "http"])  # CONNECT tunnel / absolute-form
def test_a_407_names_the_proxy_and_never_its_credentials(
    make_gateway: GatewayFactory,
    sim: Sim,
    caplog: pytest.LogCaptureFixture,
    front: str,
) -> None:
    proxy = ConnectProxy(username="gg", password=HTTP_PASSWORD, source_address="127.0.0.2")
    with ProxyThread(proxy) as running, EdgeThread(sim.url, mode="probe") as edge:
        wrong = running.proxy.url_with("gg", "not-" + HTTP_PASSWORD)
        where = (
            {"grok_base_url": edge.url, "grok_ca_file": edge.ca_file} if front == "https" else {}
        )
        gw = make_gateway(proxies=wrong, **where)
        with pytest.raises(openai.APIStatusError) as info:
            client(gw.url).chat.completions.create(
                model="grok-4.20-auto", messages=[{"role": "user", "content": "hi"}]
            )
    text = info.value.response.text
    assert info.value.status_code == 502
    assert proxy_key(running.url) in text and "credentials" in text
    for secret in (HTTP_PASSWORD, "not-" + HTTP_PASSWORD):
        assert secret not in text and secret not in caplog.text
    assert edge.connections == []  # nothing reached grok.com
