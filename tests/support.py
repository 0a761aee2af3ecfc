"""Constants and small types shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from grokgate.config import Settings
from grokgate.events import Event
from grokgate.simulator.state import SimState
from grokgate.stores.records import Account
from grokgate.stores.sqlite import SqliteAccountStore

API_KEY = "sk-test-0123456789abcdef"


class FakeClock:
    """A settable clock: code under test calls it, the test moves ``now``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


ACCOUNTS = (
    ("super", "sso-test-super-1-eyJhbGciOiJIUzI1NiJ9"),
    ("super", "sso-test-super-2-eyJhbGciOiJIUzI1NiJ9"),
    ("heavy", "sso-test-heavy-1-eyJhbGciOiJIUzI1NiJ9"),
    ("basic", "sso-test-basic-1-eyJhbGciOiJIUzI1NiJ9"),
)
ALL_TOKENS = tuple(token for _, token in ACCOUNTS)


@dataclass
class Sim:
    state: SimState
    url: str


@dataclass
class Gateway:
    url: str
    settings: Settings

    async def accounts(self) -> dict[str, Account]:
        """The gateway's pool as stored (read through a second store on the same file)."""
        store = SqliteAccountStore(self.settings.db_path)
        try:
            return {a.id: a for a in await store.list_accounts()}
        finally:
            await store.close()


GatewayFactory = Callable[..., Gateway]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Wait until ``base``/health answers 200; fail with the process's output if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    raise AssertionError(f"the server at {base} did not become healthy:\n{output}")


def aws_client(service: str, endpoint: str) -> Any:
    """A boto3 client for moto on loopback: fixed region and dummy credentials, no retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def new_dynamodb_table(endpoint: str) -> str:
    """A fresh, empty accounts table in moto; returns its name."""
    from grokgate.stores.dynamodb import create_table

    name = f"grokgate-test-{uuid.uuid4().hex[:12]}"
    create_table(aws_client("dynamodb", endpoint), name)
    return name


class AtomicMotoServer:
    """moto's server on loopback with each request applied atomically.

    DynamoDB applies every (conditional) write to an item atomically; moto's threaded server
    does not lock, so two concurrent updates can both read the old item and one is lost. A
    lock around the WSGI app restores DynamoDB's guarantee while keeping real HTTP + boto3.
    """

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def atomic(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(
            "127.0.0.1", 0, atomic, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()


class ScriptedEvents:
    """An event stream stand-in: plays ``events``, then raises ``fail`` if given; records how
    many events were pulled and whether the stream was closed."""

    def __init__(self, events: Sequence[Event], fail: BaseException | None = None) -> None:
        self.events = events
        self.fail = fail
        self.closed = False
        self.sent = 0

    async def stream(self) -> AsyncIterator[Event]:
        try:
            for event in self.events:
                self.sent += 1
                yield event
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed = True


def scripted(events: Sequence[Event], fail: BaseException | None = None) -> AsyncIterator[Event]:
    """``events`` as an async stream (then ``fail`` raised, if given)."""
    return ScriptedEvents(events, fail).stream()


def serve_process(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``grokgate serve --no-demo`` in its own process with only ``env``'s GROKGATE_ settings;
    returns the process and its base URL once it answers ``/health``."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GROKGATE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grokgate.cli", "serve", "--no-demo", "--port", str(port)],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc)
    return proc, base


class CallCounter:
    """Counts, by operation name, the DynamoDB calls one boto3 client sends (botocore's
    ``before-call`` event hook)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        """The counts so far; counting starts again from zero."""
        out, self.calls = self.calls, Counter()
        return out

    def settle(self, timeout: float = 5.0) -> Counter[str]:
        """The counts once calls stop arriving (releases land after the last byte)."""
        deadline = time.monotonic() + timeout
        last = Counter(self.calls)
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if self.calls == last:
                return last
            last = Counter(self.calls)
        return last
