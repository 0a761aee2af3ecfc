"""A fake xAI API over HTTP/2 with TLS (hypercorn, a trustme CA), and gateways in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from grokgate.simulator.xai import create_xai_app
from grokgate.simulator.xai_server import Http2ServerThread
from grokgate.simulator.xai_state import XaiState
from grokgate.stores.records import AccountKind, account_id_for
from tests.support import Gateway, GatewayFactory

KEY_A = "xai-key-aaaa-0123456789abcdefghij"
KEY_B = "xai-key-bbbb-0123456789abcdefghij"
KEYS = (KEY_A, KEY_B)


def key_id(key: str) -> str:
    return account_id_for(key, AccountKind.XAI_API_KEY)


FIRST, SECOND = sorted(KEYS, key=key_id)  # equal scores: the pool tries the lower id first


@dataclass
class Xai:
    state: XaiState
    url: str
    ca_file: str


@pytest.fixture(scope="session")
def xai_server() -> Iterator[Xai]:
    state = XaiState(KEYS)
    with Http2ServerThread(create_xai_app(state), tls=True) as server:
        assert server.ca_file is not None
        yield Xai(state, server.url, server.ca_file)


@pytest.fixture
def xai(xai_server: Xai) -> Iterator[Xai]:
    xai_server.state.reset()
    xai_server.state.keys = set(KEYS)
    yield xai_server
    xai_server.state.reset()


@pytest.fixture
def xai_gateway(make_gateway: GatewayFactory, xai: Xai) -> Gateway:
    return make_gateway(xai_base_url=xai.url, xai_api_keys=",".join(KEYS), xai_ca_file=xai.ca_file)
