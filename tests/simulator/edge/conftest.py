"""Fixtures for the edge tests: the small backend, and one probe edge and one cloudflare edge
in front of it (session-wide threads, reset around each test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grokgate.simulator.edge import EdgeThread
from grokgate.simulator.server import ServerThread
from tests.simulator.edge.edge_support import BACKEND


@pytest.fixture(scope="session")
def backend() -> Iterator[ServerThread]:
    with ServerThread(BACKEND) as server:
        yield server


@pytest.fixture(scope="session")
def _probe_edge(backend: ServerThread) -> Iterator[EdgeThread]:
    with EdgeThread(backend) as edge:
        yield edge


@pytest.fixture
def probe(_probe_edge: EdgeThread) -> EdgeThread:
    _probe_edge.reset()
    return _probe_edge


@pytest.fixture(scope="session")
def _cloudflare_edge(backend: ServerThread) -> Iterator[EdgeThread]:
    with EdgeThread(backend, mode="cloudflare") as edge:
        yield edge


@pytest.fixture
def cloudflare(_cloudflare_edge: EdgeThread) -> EdgeThread:
    _cloudflare_edge.reset()
    _cloudflare_edge.revoke_clearances()
    return _cloudflare_edge
