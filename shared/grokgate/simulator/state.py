"""Mutable simulator state: accounts, quotas, queued faults and the request log.

Quota model: each account has ``remaining[mode]`` and ``reset_at[mode]``. A mode's window is
not running while ``reset_at[mode] == 0``; the first successful chat on that mode starts it
(``reset_at = now + window_s``). Once ``clock() >= reset_at`` the mode is refilled to its tier
total. A chat on a mode whose ``remaining`` is 0 gets HTTP 429 with
``Retry-After = ceil(reset_at - now)`` (at least 1).

Faults are queued per account and consumed by chat requests only (``/rest/app-chat/...``,
and turns of the WebSocket chat gateway ``/ws/mgw/``, see :mod:`.gateway`), after
authentication, statsig and body validation passed. ``times=-1`` makes a fault sticky
until :meth:`SimState.clear_faults`. See :data:`FAULTS` for the names.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .media_state import SimMedia

__all__ = [
    "CHAT_PATH",
    "FAULTS",
    "MGW_PATH",
    "MODES",
    "RATE_LIMITS_PATH",
    "SESSION_PATH",
    "TIERS",
    "TIER_QUOTAS",
    "UPLOAD_PATH",
    "Fault",
    "InjectedFault",
    "RecordedRequest",
    "SimAccount",
    "SimState",
    "SimUpload",
    "mask_token",
]

CHAT_PATH = "/rest/app-chat/conversations/new"
RATE_LIMITS_PATH = "/rest/rate-limits"
UPLOAD_PATH = "/http/upload-file-v2/direct"
MGW_PATH = "/ws/mgw/"  # the WebSocket chat gateway; its turns are recorded with method "WS"
SESSION_PATH = "/api/auth/session"
MAX_UPLOAD_BYTES = 16 * 1024 * 1024

Tier = Literal["basic", "super", "heavy"]
TIERS: tuple[str, ...] = ("basic", "super", "heavy")
MODES: tuple[str, ...] = ("auto", "fast", "expert", "heavy", "grok-420-computer-use-sa")

# tier -> (quota per mode, window seconds); docs/grok-protocol.md §8.3. A tier may use exactly
# these modes.
TIER_QUOTAS: dict[str, tuple[dict[str, int], int]] = {
    "basic": ({"fast": 30}, 86400),
    "super": (
        {"auto": 50, "fast": 140, "expert": 50, "grok-420-computer-use-sa": 50},
        7200,
    ),
    "heavy": (
        {"auto": 150, "fast": 400, "expert": 150, "heavy": 20, "grok-420-computer-use-sa": 150},
        7200,
    ),
}

Fault = Literal[
    "401",  # JSON body with "invalid-credentials"
    "403_cf",  # Cloudflare "Just a moment..." HTML + cf-mitigated: challenge
    "403_antibot",  # JSON code 7 "Request rejected by anti-bot rules."
    "403_blocked",  # JSON code 7 "User is blocked ... [WKE=unauthorized:blocked-user]"
    "429",  # JSON code 8, Retry-After = retry_after when given
    "500",
    "502",
    "503",
    "inband_error",  # 200: conversation frame, then {"error":{"code":8,"message":"rate limited"}}
    "inband_response_error",  # 200: conversation frame, then result.response.error
    "cut",  # normal stream, connection dropped uncleanly after `after` frames
    "truncate",  # normal stream, clean EOF after `after` frames
    "slow",  # sleep `delay` seconds, then answer normally
]
FAULTS: tuple[str, ...] = get_args(Fault)


def mask_token(token: str) -> str:
    return token[:4] + "…"


@dataclass(frozen=True)
class InjectedFault:
    name: str
    retry_after: int | None = None
    after: int = 2
    delay: float = 1.0


@dataclass
class _Pending:
    fault: InjectedFault
    left: int  # -1 = sticky


@dataclass
class SimAccount:
    token: str
    tier: str
    user_id: str
    remaining: dict[str, int]
    window_s: int
    reset_at: dict[str, float]
    blocked: bool = False  # /api/auth/session says "blocked", the gateway refuses with 403

    @property
    def totals(self) -> dict[str, int]:
        return dict(TIER_QUOTAS[self.tier][0])

    def can_use(self, mode: str) -> bool:
        return mode in TIER_QUOTAS[self.tier][0]


@dataclass(frozen=True)
class SimUpload:
    """A file uploaded through upload v2; only its owner (``token``) may attach it."""

    token: str
    name: str
    mime: str
    data: bytes = field(repr=False)
    file_id: str = ""
    file_source: str | None = None  # the optional upload v2 form field

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    token: str | None
    statsig_ok: bool
    statsig_reason: str | None = None
    time: float = 0.0
    cookies: dict[str, str] = field(default_factory=dict)
    # how a streamed REST chat answer ended: "completed", "cut", "truncated" or "client_gone"
    # (the client went away mid-answer); None until it ends, and for every other answer
    outcome: str | None = None


class SimState:
    """All simulator state; safe to mutate from a test thread while the server runs."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.accounts: dict[str, SimAccount] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[_Pending]] = {}
        self.uploads: dict[str, SimUpload] = {}  # file id -> upload, cleared by reset()
        self.max_upload_bytes = MAX_UPLOAD_BYTES  # larger uploads get a terminalError
        self._lock = threading.Lock()
        self.media = SimMedia(self)  # imagine/edit/video state, see media_state
        # every gateway handshake is refused with this status (404 or 403); reset() clears it
        self.gateway_refuse: int | None = None
        # how the gateway shapes its answers (.gateway_frames.GATEWAY_VARIANTS); reset() clears it
        self.gateway_variants: frozenset[str] = frozenset()
        # the x-statsig-id pair grok.com accepts now (a new web build rotates it); None: the
        # app's own constants. reset() goes back to those
        self.statsig: Any = None

    # accounts -----------------------------------------------------------------------------
    def add_account(
        self, token: str, tier: str = "super", user_id: str | None = None, *, blocked: bool = False
    ) -> SimAccount:
        if tier not in TIER_QUOTAS:
            raise ValueError(f"unknown tier {tier!r}; expected one of {TIERS}")
        if not token:
            raise ValueError("token must be non-empty")
        quotas, window = TIER_QUOTAS[tier]
        account = SimAccount(
            token=token,
            tier=tier,
            user_id=user_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"grok-sim:{token}")),
            remaining=dict(quotas),
            window_s=window,
            reset_at=dict.fromkeys(quotas, 0.0),
            blocked=blocked,
        )
        with self._lock:
            self.accounts[token] = account
        return account

    # faults -------------------------------------------------------------------------------
    def inject(
        self,
        token: str,
        fault: str,
        times: int = 1,
        *,
        retry_after: int | None = None,
        after: int = 2,
        delay: float = 1.0,
    ) -> None:
        """Queue ``fault`` for the next ``times`` chat requests of ``token`` (-1 = sticky)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        if times == 0 or times < -1:
            raise ValueError("times must be positive or -1 (sticky)")
        if token not in self.accounts:
            raise KeyError(f"unknown account token {mask_token(token)}")
        pending = _Pending(InjectedFault(fault, retry_after, max(0, after), delay), times)
        with self._lock:
            self._faults.setdefault(token, []).append(pending)

    def clear_faults(self, token: str | None = None) -> None:
        with self._lock:
            if token is None:
                self._faults.clear()
            else:
                self._faults.pop(token, None)

    def take_fault(self, token: str, only: Collection[str] | None = None) -> InjectedFault | None:
        """Pop (or peek, when sticky) the next fault for ``token``'s chat request; with ``only``,
        just when the next fault is one of those names (else it stays queued)."""
        with self._lock:
            queue = self._faults.get(token)
            if not queue:
                return None
            head = queue[0]
            if only is not None and head.fault.name not in only:
                return None
            if head.left == -1:
                return head.fault
            head.left -= 1
            if head.left <= 0:
                queue.pop(0)
            return head.fault

    # requests -----------------------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def chat_requests(self, token: str | None = None) -> list[RecordedRequest]:
        """REST chat requests and gateway turns (method ``"WS"``), in arrival order."""
        with self._lock:
            return [r for r in self.requests if _is_chat(r) and (token is None or r.token == token)]

    def gateway_pings(self, token: str | None = None) -> int:
        """Heartbeat pings received by the gateway (from the recorded turns' events)."""
        with self._lock:
            turns = [
                r
                for r in self.requests
                if r.method == "WS" and r.path == MGW_PATH and (token is None or r.token == token)
            ]
        return sum(
            1
            for turn in turns
            for event in list(turn.body.get("events", []))
            if isinstance(event, dict)
            and isinstance(event.get("event"), dict)
            and event["event"].get("type") == "ping"
        )

    def upload_requests(self, token: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == UPLOAD_PATH and (token is None or r.token == token)
            ]

    # uploads ------------------------------------------------------------------------------
    def add_upload(
        self, token: str, name: str, mime: str, data: bytes, file_source: str | None = None
    ) -> SimUpload:
        upload = SimUpload(token, name, mime, data, str(uuid.uuid4()), file_source)
        with self._lock:
            self.uploads[upload.file_id] = upload
        return upload

    def upload_of(self, token: str, file_id: str) -> SimUpload | None:
        """The upload ``file_id`` if ``token`` owns it."""
        with self._lock:
            upload = self.uploads.get(file_id)
        return upload if upload is not None and upload.token == token else None

    # quota --------------------------------------------------------------------------------
    def _refresh(self, account: SimAccount, mode: str, now: float) -> None:
        started = account.reset_at.get(mode, 0.0)
        if started and now >= started:
            account.remaining[mode] = TIER_QUOTAS[account.tier][0][mode]
            account.reset_at[mode] = 0.0

    def consume(self, token: str, mode: str) -> int | None:
        """Use one query of ``mode``; None on success, else the Retry-After seconds."""
        now = self.clock()
        with self._lock:
            account = self.accounts[token]
            if not account.can_use(mode):
                raise ValueError(f"tier {account.tier} cannot use mode {mode}")
            self._refresh(account, mode, now)
            if not account.reset_at[mode]:
                account.reset_at[mode] = now + account.window_s
            if account.remaining[mode] <= 0:
                return max(1, math.ceil(account.reset_at[mode] - now))
            account.remaining[mode] -= 1
            return None

    def quota(self, token: str, mode: str) -> tuple[int, int, int]:
        """(window seconds, remaining, total) for ``mode``; (window, 0, 0) if not in the tier."""
        now = self.clock()
        with self._lock:
            account = self.accounts[token]
            if not account.can_use(mode):
                return account.window_s, 0, 0
            self._refresh(account, mode, now)
            total = TIER_QUOTAS[account.tier][0][mode]
            return account.window_s, account.remaining[mode], total

    def wait_s(self, token: str, mode: str) -> int:
        """Seconds until ``mode``'s window reopens (a window not running yet: a whole window)."""
        now = self.clock()
        with self._lock:
            account = self.accounts[token]
            reset_at = account.reset_at.get(mode, 0.0)
            return max(1, math.ceil(reset_at - now)) if reset_at else account.window_s

    def set_remaining(
        self, token: str, mode: str, remaining: int, *, reset_in: float | None = None
    ) -> None:
        """Test helper: force the remaining count of one mode (window keeps running; with
        ``reset_in``, it now reopens that many seconds from now)."""
        with self._lock:
            account = self.accounts[token]
            if not account.can_use(mode):
                raise ValueError(f"tier {account.tier} cannot use mode {mode}")
            account.remaining[mode] = remaining
            if reset_in is not None:
                account.reset_at[mode] = self.clock() + reset_in

    # housekeeping -------------------------------------------------------------------------
    def reset(self) -> None:
        """Clear faults, uploads, media state, the request log and ``gateway_refuse``, refill
        every quota and unblock every account (accounts kept)."""
        self.media.reset()
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.uploads.clear()
            self.max_upload_bytes = MAX_UPLOAD_BYTES
            self.gateway_refuse = None
            self.gateway_variants = frozenset()
            self.statsig = None
            for account in self.accounts.values():
                account.blocked = False
                quotas = TIER_QUOTAS[account.tier][0]
                account.remaining = dict(quotas)
                account.reset_at = dict.fromkeys(quotas, 0.0)

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            accounts = []
            for account in self.accounts.values():
                for mode in account.remaining:
                    self._refresh(account, mode, now)
                mine = [r for r in self.requests if r.token == account.token]
                accounts.append(
                    {
                        "token": mask_token(account.token),
                        "tier": account.tier,
                        "requests": len(mine),
                        "chat_requests": sum(1 for r in mine if _is_chat(r)),
                        "remaining": dict(account.remaining),
                        "faults_queued": len(self._faults.get(account.token, [])),
                    }
                )
            return {"accounts": accounts, "requests": len(self.requests)}


def _is_chat(request: RecordedRequest) -> bool:
    """A REST chat request or a gateway turn."""
    return request.path == CHAT_PATH or (request.method == "WS" and request.path == MGW_PATH)
