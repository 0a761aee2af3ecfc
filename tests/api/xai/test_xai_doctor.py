"""``grokgate doctor`` on an xAI key: one models call says whether the key works."""

from __future__ import annotations

import asyncio
from pathlib import Path

from grokgate.config import Settings
from grokgate.doctor import Report, diagnose
from grokgate.runtime import Runtime
from grokgate.stores.records import AccountKind, account_id_for
from tests.api.xai.conftest import KEY_A, Xai


def _doctor(xai: Xai, tmp_path: Path, key: str) -> Report:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        xai_api_keys=key,
        xai_base_url=xai.url,
        xai_ca_file=xai.ca_file,
    )

    async def go() -> Report:
        runtime = Runtime(settings)
        try:
            return await diagnose(runtime, account_id_for(key, AccountKind.XAI_API_KEY))
        finally:
            await runtime.aclose()

    return asyncio.run(go())


def test_a_working_key_and_a_dead_one(xai_server: Xai, tmp_path: Path) -> None:
    good = _doctor(xai_server, tmp_path / "a", KEY_A)
    assert good.ok and [c.step for c in good.checks] == ["xai"]
    bad = _doctor(xai_server, tmp_path / "b", "xai-unknown-key-0123456789abcdef")
    (check,) = bad.checks
    assert not bad.ok and "HTTP 401" in check.detail and "replace the key" in (check.fix or "")
    assert "0123456789abcdef" not in check.line()
