"""A faithful grok.com simulator (REST chat, rate limits, statsig, faults) for tests and demos.

Import only stdlib and starlette here; ``ServerThread`` (uvicorn) is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .answers import build_answer, final_text, last_user_text, rendered_text, thinking_text
from .app import SimulatedCut, cf_bm_for, create_app
from .state import (
    CHAT_PATH,
    FAULTS,
    MODES,
    RATE_LIMITS_PATH,
    TIER_QUOTAS,
    Fault,
    RecordedRequest,
    SimAccount,
    SimState,
)
from .statsig import DEMO_CONSTANTS, EPOCH, StatsigConstants, sign, verify

if TYPE_CHECKING:
    from .server import ServerThread

__all__ = [
    "CHAT_PATH",
    "DEMO_CONSTANTS",
    "EPOCH",
    "FAULTS",
    "MODES",
    "RATE_LIMITS_PATH",
    "TIER_QUOTAS",
    "Fault",
    "RecordedRequest",
    "ServerThread",
    "SimAccount",
    "SimState",
    "SimulatedCut",
    "StatsigConstants",
    "build_answer",
    "cf_bm_for",
    "create_app",
    "final_text",
    "last_user_text",
    "rendered_text",
    "sign",
    "thinking_text",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name == "ServerThread":
        from .server import ServerThread

        return ServerThread
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
