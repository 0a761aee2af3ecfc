"""Secrets are redacted before an error message is cut short, so a cut that falls inside a
secret cannot leave a recognizable (and so unmasked) half of it in an error, a log line or an
account's ``last_error``."""

from __future__ import annotations

import json
import logging

import pytest

from grokgate.logs import get_logger, register_secret
from grokgate.stores.base import AccountStore, Feedback
from grokgate.stores.transitions import ERROR_LIMIT
from grokgate.upstream.grokweb.classify import classify_http, classify_inband
from grokgate.upstream.grokweb.gateway_adapter import gateway_error
from grokgate.upstream.grokweb.imagine import imagine_error
from tests.stores.store_support import TOKEN, fetch

SECRET = "Zq7secretPART" + "k3v9" * 10  # 53 characters, shaped like no known pattern


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_secret(SECRET)


def _padded(cut: int) -> str:
    """A message in which a cut at ``cut`` characters falls in the middle of the secret."""
    return "x" * (cut - 20) + SECRET + " tail"


def _assert_clean(text: str) -> None:
    assert SECRET not in text
    assert SECRET[:8] not in text
    assert SECRET[-8:] not in text


async def test_last_error_never_keeps_half_a_secret(store: AccountStore) -> None:
    account, _ = await store.add_account(TOKEN)
    await store.record(account.id, Feedback(error=_padded(ERROR_LIMIT)))
    last_error = (await fetch(store, account.id)).last_error
    assert last_error is not None
    _assert_clean(last_error)


def test_upstream_errors_never_keep_half_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    errors = [
        classify_inband({"message": _padded(300)}, nested=False),
        classify_http(500, {}, json.dumps({"error": {"message": _padded(300)}})),
        imagine_error({"type": "error", "err_code": "x", "err_msg": _padded(300)}),
        gateway_error({"code": 13, "message": _padded(300)}),
    ]
    logger = get_logger("test.redact")
    with caplog.at_level(logging.INFO, logger="grokgate"):
        for error in errors:
            _assert_clean(str(error))
            logger.warning("upstream said: %s", error)
    assert len(caplog.records) == len(errors)
    for record in caplog.records:
        _assert_clean(record.getMessage())
