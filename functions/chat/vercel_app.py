"""Vercel entry for the chat function: chat completions, Responses and Anthropic Messages.

Vercel's Python runtime serves this module's ASGI ``app`` (routing and limits: vercel.json).
Nothing is built at import; the FastAPI app for the ``chat`` surface is built on its first
call (the runtime's lifespan startup, or else the first request). The bundle carries the
repo's ``shared/`` folder, which is put on sys.path here, so grokgate imports whether or not
the project itself was pip-installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

_SHARED = str(Path(__file__).resolve().parents[2] / "shared")
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)

from grokgate.api.lazy import lazy_app  # noqa: E402  (after the sys.path fix above)

app = lazy_app(("chat",))
