"""Constants and small types shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from grokgate.config import Settings
from grokgate.simulator.state import SimState
from grokgate.stores.records import Account
from grokgate.stores.sqlite import SqliteAccountStore

API_KEY = "sk-test-0123456789abcdef"
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
