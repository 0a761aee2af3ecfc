"""The account store (seeded from the settings), the pool over it and the quota sync."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.logs import get_logger, register_secret
from grokgate.runtime.cached import cached
from grokgate.stores.records import AccountKind, Tier

if TYPE_CHECKING:
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.accounts.quota import QuotaSync
    from grokgate.runtime.grok import QuotaReads
    from grokgate.stores.base import AccountStore
    from grokgate.upstream.egress import EgressPool

log = get_logger("runtime")


def parse_token_spec(spec: str, default: Tier) -> tuple[Tier, str]:
    """``"super:eyJ..."`` → (super, token); a bare token gets ``default``."""
    head, sep, rest = spec.partition(":")
    if sep and head.lower() in {t.value for t in Tier}:
        return Tier(head.lower()), rest
    return default, spec


class AccountParts:
    settings: Settings

    if TYPE_CHECKING:  # from the other parts of Runtime

        def needs(self, what: str) -> None: ...
        def quota_reads(self) -> QuotaReads: ...
        def egress_pool(self) -> EgressPool: ...

    @cached
    async def store(self) -> AccountStore:
        """The account store the settings name, with the settings' tokens and keys added."""
        self.needs("pool")
        from grokgate.stores.open import open_store

        s = self.settings
        store = open_store(s)
        default = Tier(s.default_tier)
        for secret in s.sso_tokens:
            tier, token = parse_token_spec(secret.get_secret_value(), default)
            register_secret(token)
            account, created = await store.add_account(token, tier, max_inflight=s.max_inflight)
            if created:
                log.info("added account %s (%s) from GROKGATE_SSO_TOKENS", account.id, tier)
        for secret in s.xai_api_keys:
            account, created = await store.add_account(
                secret.get_secret_value(),
                max_inflight=s.xai_max_inflight,
                kind=AccountKind.XAI_API_KEY,
            )
            if created:
                log.info("added xAI API key %s from GROKGATE_XAI_API_KEYS", account.id)
        return store

    @cached
    async def pool(self) -> AccountPool:
        """The one account pool of this process, shared by chat and media."""
        store = await self.store()
        quota = await self.quota_sync()
        from grokgate.core.accounts.pool import AccountPool

        await reclaim_dead_leases(store)
        s = self.settings
        return AccountPool(
            store,
            quota=quota,
            cooldown_seconds=s.cooldown_seconds,
            snapshot_seconds=s.pool_snapshot_seconds,
            demote=self.egress_pool().resting if s.proxies else None,
        )

    @cached
    async def quota_sync(self) -> QuotaSync:
        """Reads quotas from grok.com (``/rest/rate-limits``) into the store."""
        store = await self.store()
        from grokgate.core.accounts.quota import QuotaSync

        s = self.settings
        reads = self.quota_reads()
        return QuotaSync(
            store,
            reads,
            sync_seconds=s.quota_sync_seconds,
            refresh_seconds=s.quota_refresh_seconds,
            imagine=reads,
        )

    async def close_accounts(self) -> None:
        pool: AccountPool | None = AccountParts.pool.forget(self)
        if pool is not None:
            await pool.aclose()
        quota: QuotaSync | None = AccountParts.quota_sync.forget(self)
        if quota is not None:
            await quota.aclose()

    async def close_store(self) -> None:
        store: AccountStore | None = AccountParts.store.peek(self)
        if store is not None:
            await store.close()


async def reclaim_dead_leases(store: AccountStore) -> None:
    """Before this process leases anything from a local store, give back the slots of
    processes on this machine that died holding them (``kill -9``, a crash): they would
    block their accounts until the leases expire. A shared store (DynamoDB: instances on
    other machines) relies on short leases that live holders extend instead."""
    if not store.single_host:
        return
    from grokgate.errors import GrokGateError

    try:
        reclaimed = await store.reclaim_dead()
    except GrokGateError as exc:  # they expire on their own
        log.warning("could not reclaim the leases of dead processes: %s", exc.message)
        return
    if reclaimed:
        log.info("reclaimed %d lease(s) of processes that died holding them", reclaimed)
