"""Shared helpers for the ChatService tests: a scripted upstream, a spy pool, the harness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from grokgate.core.accounts.pool import AccountPool
from grokgate.core.chat import ChatJob, ChatService
from grokgate.core.registry import ModelSpec, resolve
from grokgate.errors import GrokGateError, UpstreamError, Verdict
from grokgate.events import Event, Finish, Served, TextDelta
from grokgate.stores.records import Account, Lease, Tier
from grokgate.stores.sqlite import SqliteAccountStore
from grokgate.upstream.files import Attachment
from tests.support import FakeClock

SPEC = resolve("grok-4.20-0309-non-reasoning")  # fast, basic accounts can serve it
AUTO = resolve("grok-4.20-0309")  # auto, super and heavy accounts
SERVED = "served"  # script step: yield Served(...) for the account
OK = [SERVED, TextDelta("Hello"), TextDelta(" world"), Finish()]

Step = object  # SERVED, an Event, an exception instance, or a callable raising one


class FakeUpstream:
    """Plays a script per account id; records calls and generator closes."""

    transport = "fake"

    def __init__(self) -> None:
        self.scripts: dict[str, list[Step]] = {}
        self.calls: list[tuple[str, str, str, bool]] = []
        self.closed: list[str] = []
        self.attachments: list[list[Attachment]] = []

    async def chat(
        self,
        account: Account,
        message: str,
        mode: str,
        *,
        show_reasoning: bool = True,
        attachments: Sequence[Attachment] = (),
    ) -> AsyncIterator[Event]:
        self.calls.append((account.id, message, mode, show_reasoning))
        self.attachments.append(list(attachments))
        try:
            for step in self.scripts.get(account.id, OK):
                if step == SERVED:
                    yield Served(account=account.id, transport=self.transport)
                elif isinstance(step, BaseException):
                    raise step
                else:
                    yield step  # type: ignore[misc]
        finally:
            self.closed.append(account.id)

    @property
    def called(self) -> list[str]:
        return [c[0] for c in self.calls]


@dataclass(frozen=True)
class Finished:
    """One call of ``pool.finish``."""

    account: str
    lease: str
    error: UpstreamError | None
    accepted: bool
    abandoned: bool


class SpyPool(AccountPool):
    def __init__(self, store: SqliteAccountStore, clock: FakeClock) -> None:
        super().__init__(store, cooldown_seconds=900.0, clock=clock)
        self.leased: list[Lease] = []
        self.finished: list[Finished] = []

    async def lease(
        self, spec: ModelSpec, exclude: frozenset[str] = frozenset()
    ) -> tuple[Account, Lease]:
        account, lease = await super().lease(spec, exclude)
        self.leased.append(lease)
        return account, lease

    async def finish(
        self,
        account: Account,
        lease: Lease,
        error: UpstreamError | None = None,
        *,
        accepted: bool = True,
        abandoned: bool = False,
    ) -> None:
        self.finished.append(Finished(account.id, lease.id, error, accepted, abandoned))
        await super().finish(account, lease, error, accepted=accepted, abandoned=abandoned)

    @property
    def successes(self) -> list[str]:
        return [f.account for f in self.finished if f.error is None and not f.abandoned]

    @property
    def failures(self) -> list[tuple[str, UpstreamError]]:
        return [(f.account, f.error) for f in self.finished if f.error is not None]

    @property
    def abandoned(self) -> list[str]:
        return [f.account for f in self.finished if f.abandoned]

    @property
    def released(self) -> list[str]:
        """Accounts whose lease was given back, in order (every finish releases)."""
        return [f.account for f in self.finished]

    def assert_each_lease_finished_once(self) -> None:
        assert sorted(f.lease for f in self.finished) == sorted(lease.id for lease in self.leased)


@dataclass
class Harness:
    store: SqliteAccountStore
    pool: SpyPool
    upstream: FakeUpstream
    clock: FakeClock
    accounts: list[str] = field(default_factory=list)  # ids, in the order the pool picks them

    def service(self, max_retries: int = 1) -> ChatService:
        return ChatService(self.pool, self.upstream, max_retries=max_retries)

    async def add(self, n: int, tier: Tier = Tier.BASIC) -> list[str]:
        for i in range(n):
            await self.store.add_account(f"sso-token-{i:02d}-abcdef", tier)
        listed = sorted(a.id for a in await self.store.list_accounts())
        self.accounts = listed  # equal scores: the pool picks by id
        return listed

    def script(self, account_id: str, *steps: Step) -> None:
        self.upstream.scripts[account_id] = list(steps)

    async def get(self, account_id: str) -> Account:
        account = await self.store.get_account(account_id)
        assert account is not None
        return account

    async def assert_idle(self) -> None:
        """Every slot is back, and every lease was finished exactly once."""
        assert [a.inflight for a in await self.store.list_accounts()] == [0] * len(self.accounts)
        self.pool.assert_each_lease_finished_once()


async def collect(service: ChatService, job: ChatJob | None = None) -> list[Event]:
    return [e async for e in service.stream(job or ChatJob(SPEC, "[user]: hi"))]


async def collect_until_error(
    service: ChatService, job: ChatJob | None = None
) -> tuple[list[Event], GrokGateError]:
    events: list[Event] = []
    with pytest.raises(GrokGateError) as info:
        async for event in service.stream(job or ChatJob(SPEC, "[user]: hi")):
            events.append(event)
    return events, info.value


def rate_limited(retry_after: float | None) -> UpstreamError:
    return UpstreamError(
        "429 from grok.com",
        upstream_status=429,
        verdict=Verdict.RATE_LIMITED,
        retry_after=retry_after,
    )
