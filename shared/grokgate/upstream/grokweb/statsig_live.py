"""The x-statsig-id pair as live state shared by every instance.

grok.com rotates the pair the page signs with (the 48-byte seed from its
``grok-site-verification`` meta, and the suffix derived from the page) with its web builds; a
stale pair turns every signed REST call into 403 code 7. The pair lives in the store (key
``statsig:pair``: SQLite locally, DynamoDB in the cloud), where ``grokgate statsig set`` writes
it; the environment (``GROKGATE_STATSIG_HEADER_HEX`` / ``_SUFFIX`` / ``_TRAILER``, or the same
keys in ``GROKGATE_SECRETS``) seeds it while the store has none. Each instance re-reads the
store every ``refresh_seconds``, and at once (single-flight) after a code-7 rejection, so a new
pair reaches every instance within seconds, without a redeploy or a restart.

With no pair anywhere, the synthetic ``x1:`` value (what the page sends when its own statsig
evaluation fails) is the last resort.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from grokgate import metrics
from grokgate.logs import get_logger
from grokgate.stores.base import AccountStore
from grokgate.upstream.grokweb.statsig import InProcessSigner, SyntheticSigner

log = get_logger("statsig")
STORE_KEY = "statsig:pair"
HEADER_BYTES = 49
REJECTED_METRIC = "StatsigRejected"
WARN_WINDOW = 300.0  # one warning per this many seconds of rejections


@dataclass(frozen=True, slots=True)
class StatsigPair:
    """The signing constants: the 49-byte header (key position + the 48-byte seed) as hex, the
    page's suffix, and the trailer byte."""

    header_hex: str
    suffix: str
    trailer: int = 3
    set_at: float = 0.0
    source: str = "env"

    def __post_init__(self) -> None:
        try:
            raw = bytes.fromhex(self.header_hex)
        except ValueError as exc:
            raise ValueError("the statsig header must be hex") from exc
        if len(raw) != HEADER_BYTES:
            raise ValueError(f"the statsig header must be {HEADER_BYTES} bytes, got {len(raw)}")
        if len(self.suffix) > 512:
            raise ValueError("the statsig suffix must be at most 512 characters")
        if not 0 <= self.trailer <= 255:
            raise ValueError("the statsig trailer must be a byte (0-255)")
        object.__setattr__(self, "header_hex", self.header_hex.lower())

    @property
    def seed(self) -> bytes:
        """The page's 48-byte meta value (what a remote signer calls ``metaContent``)."""
        return bytes.fromhex(self.header_hex)[1:]

    def same_constants(self, other: StatsigPair | None) -> bool:
        return other is not None and (self.header_hex, self.suffix, self.trailer) == (
            other.header_hex,
            other.suffix,
            other.trailer,
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "header_hex": self.header_hex,
            "suffix": self.suffix,
            "trailer": self.trailer,
            "set_at": self.set_at,
            "source": self.source,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StatsigPair:
        return cls(
            str(doc.get("header_hex", "")),
            str(doc.get("suffix", "")),
            int(doc.get("trailer", 3)),
            float(doc.get("set_at") or 0.0),
            str(doc.get("source", "store")),
        )


async def read_pair(store: AccountStore) -> StatsigPair | None:
    """The pair in the store, or None (an unusable stored value is logged and ignored)."""
    doc = await store.get_value(STORE_KEY)
    if doc is None:
        return None
    try:
        return StatsigPair.from_doc(doc)
    except (ValueError, TypeError) as exc:
        log.warning("the stored x-statsig-id pair is unusable (%s); ignoring it", exc)
        return None


async def write_pair(store: AccountStore, pair: StatsigPair) -> None:
    await store.put_value(STORE_KEY, pair.to_doc())


class LiveSigner:
    """Signs with the pair in the store (else the seed), re-read every ``refresh_seconds``."""

    def __init__(
        self,
        store: AccountStore,
        seed: StatsigPair | None = None,
        *,
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.seed = seed
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._pair: StatsigPair | None = None
        self._signer: InProcessSigner | None = None
        self._signed_with: StatsigPair | None = None
        self._read_at = -float("inf")
        self._reads = 0
        self._lock = asyncio.Lock()
        self._synthetic = SyntheticSigner()
        self._warned_at = -float("inf")

    @property
    def kind(self) -> str:
        return "signed" if (self._pair or self.seed) is not None else "synthetic"

    async def pair(self) -> StatsigPair | None:
        """The pair in use now (re-read from the store when the copy is older than
        ``refresh_seconds``)."""
        if self.clock() - self._read_at >= self.refresh_seconds:
            await self.refresh()
        return self._pair or self.seed

    async def refresh(self) -> bool:
        """Re-read the shared pair now (once for concurrent callers); whether it changed."""
        before = self._pair or self.seed
        seen = self._reads
        async with self._lock:
            if self._reads == seen:  # nobody read it while we waited
                self._pair = await read_pair(self.store)
                self._read_at = self.clock()
                self._reads += 1
        now = self._pair or self.seed
        return now is not None and not now.same_constants(before)

    async def sign(self, method: str, path: str) -> str:
        pair = await self.pair()
        if pair is None:
            return await self._synthetic.sign(method, path)
        signer = self._signer
        if signer is None or not pair.same_constants(self._signed_with):
            signer = InProcessSigner(bytes.fromhex(pair.header_hex), pair.suffix, pair.trailer)
            self._signer, self._signed_with = signer, pair
        return signer.token(method, path)

    def invalidate(self) -> None:
        """A rejection: the next signature re-reads the shared pair first."""
        self._read_at = -float("inf")

    def rejected(self) -> None:
        """Count a code-7 rejection; warn (once a window) what to do about it."""
        metrics.count(REJECTED_METRIC)
        now = self.clock()
        if now - self._warned_at >= WARN_WINDOW:
            self._warned_at = now
            source = (self._pair or self.seed).source if (self._pair or self.seed) else "none"
            log.warning(
                "grok.com rejects our x-statsig-id (403 code 7; pair from %s): grok.com has "
                "probably shipped a new web build. Capture the new pair with `grokgate statsig "
                "capture` in a browser and store it with `grokgate statsig set`; every instance "
                "picks it up within seconds",
                source,
            )
