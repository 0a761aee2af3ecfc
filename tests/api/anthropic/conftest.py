"""Every end-to-end test here runs over both grok.com chat transports (same assertions)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["rest", "ws"])
def chat_transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)
