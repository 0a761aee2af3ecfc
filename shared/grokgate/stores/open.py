"""Open the store the settings name: SQLite (local default) or DynamoDB (the cloud)."""

from __future__ import annotations

from typing import Any

from grokgate.config import Settings
from grokgate.errors import GrokGateError
from grokgate.stores.base import AccountStore


class StoreConfigError(GrokGateError):
    status = 500
    code = "store_misconfigured"


def open_store(settings: Settings) -> AccountStore:
    """A store object for ``settings``; nothing connects until the first operation."""
    if settings.store == "dynamodb":
        from grokgate.stores.dynamodb import DynamoAccountStore

        return DynamoAccountStore(
            settings.dynamodb_table,
            client_factory=lambda: dynamodb_client(settings),
            lease_seconds=settings.lease_seconds,
        )
    from grokgate.stores.sqlite import SqliteAccountStore

    return SqliteAccountStore(settings.db_path, lease_seconds=settings.lease_seconds)


def dynamodb_client(settings: Settings) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise StoreConfigError(
            "GROKGATE_STORE=dynamodb needs boto3: pip install 'grokgate[aws]'"
        ) from exc
    return boto3.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5),
    )
