"""Open the stores the settings name: accounts, jobs and stored conversations in SQLite (local
default) or DynamoDB (the cloud); media in a local directory (default) or S3."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from grokgate.config import Settings
from grokgate.errors import GrokGateError
from grokgate.stores.base import AccountStore

if TYPE_CHECKING:
    from grokgate.stores.conversations import ConversationStore
    from grokgate.stores.jobs import JobStore
    from grokgate.stores.media import MediaStore


class StoreConfigError(GrokGateError):
    status = 500
    code = "store_misconfigured"


def _not_on_vercel(settings: Settings, what: str, instead: str) -> None:
    """Vercel runs each request on any of many instances, each with its own ``/tmp``: state
    kept in a local file would be a different pool (or media folder) per instance."""
    if getattr(settings, "vercel", False):
        raise StoreConfigError(
            f"{what} cannot be shared across Vercel function instances: set {instead} "
            "(with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and GROKGATE_AWS_REGION in the "
            "project's environment)"
        )


def open_store(settings: Settings) -> AccountStore:
    """A store object for ``settings``; nothing connects until the first operation."""
    if settings.store == "dynamodb":
        from grokgate.stores.dynamodb import DynamoAccountStore

        return DynamoAccountStore(
            settings.dynamodb_table,
            client_factory=lambda: dynamodb_client(settings),
            lease_seconds=settings.lease_seconds,
        )
    _not_on_vercel(settings, "The SQLite account pool", "GROKGATE_STORE=dynamodb")
    from grokgate.stores.sqlite import SqliteAccountStore

    return SqliteAccountStore(settings.db_path, lease_seconds=settings.lease_seconds)


def dynamodb_client(settings: Settings) -> Any:
    from grokgate.aws import boto3_client

    try:
        return boto3_client("dynamodb", settings.aws_region, settings.aws_endpoint_url)
    except ImportError as exc:
        raise StoreConfigError(
            "GROKGATE_STORE=dynamodb needs boto3: pip install 'grokgate[aws]'"
        ) from exc


def open_job_store(settings: Settings) -> JobStore:
    """The video job store for ``settings`` (same backend as the accounts); nothing connects
    until the first operation."""
    if getattr(settings, "store", "sqlite") == "dynamodb":
        from grokgate.stores.jobs_dynamodb import DynamoJobStore

        return DynamoJobStore(
            getattr(settings, "dynamodb_jobs_table", None) or "grokgate-jobs",
            client_factory=lambda: dynamodb_client(settings),
        )
    _not_on_vercel(settings, "The SQLite job store", "GROKGATE_STORE=dynamodb")
    from grokgate.stores.jobs_sqlite import SqliteJobStore

    return SqliteJobStore(_db_path(settings))


def open_conversation_store(settings: Settings) -> ConversationStore:
    """The store of stored responses, conversations and threads for ``settings`` (same backend
    as the accounts); nothing connects until the first operation."""
    if getattr(settings, "store", "sqlite") == "dynamodb":
        from grokgate.stores.conversations_dynamodb import DynamoConversationStore

        return DynamoConversationStore(
            getattr(settings, "dynamodb_conversations_table", None) or "grokgate-conversations",
            client_factory=lambda: dynamodb_client(settings),
        )
    _not_on_vercel(settings, "The SQLite conversation store", "GROKGATE_STORE=dynamodb")
    from grokgate.stores.conversations_sqlite import SqliteConversationStore

    return SqliteConversationStore(_db_path(settings))


def open_media_store(settings: Settings) -> MediaStore:
    """The media store for ``settings``: S3 (``media=s3``, ``media_bucket``) or files under
    ``data_dir/media``, whose URLs are signed with ``media_secret`` or, by default, the key in
    ``data_dir/media.key`` (read, or created, now)."""
    kind = getattr(settings, "media", None) or "local"
    seconds = getattr(settings, "media_url_seconds", None)
    if kind == "s3":
        bucket = getattr(settings, "media_bucket", None)
        if not bucket:
            raise StoreConfigError("GROKGATE_MEDIA=s3 needs GROKGATE_MEDIA_BUCKET (a bucket name)")
        from grokgate.stores.media_s3 import S3MediaStore

        try:
            return S3MediaStore(
                bucket,
                client_factory=lambda: s3_client(settings),
                ttl=float(seconds) if seconds is not None else 900.0,
            )
        except ValueError as exc:
            raise StoreConfigError(f"GROKGATE_MEDIA_URL_SECONDS: {exc}") from exc
    if kind != "local":
        raise StoreConfigError(f"GROKGATE_MEDIA must be 'local' or 's3', not {kind!r}")
    _not_on_vercel(
        settings, "The local media folder", "GROKGATE_MEDIA=s3 and GROKGATE_MEDIA_BUCKET"
    )
    from grokgate.stores.media_local import LocalMediaStore, local_secret

    data_dir = Path(getattr(settings, "data_dir", None) or "data")
    configured = getattr(settings, "media_secret", None)
    try:
        if configured is not None:
            raw = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
            secret = raw.encode() if isinstance(raw, str) else bytes(raw)
        else:
            secret = local_secret(data_dir)
        return LocalMediaStore(
            data_dir / "media", secret, ttl=float(seconds) if seconds is not None else 3600.0
        )
    except ValueError as exc:
        raise StoreConfigError(f"local media store: {exc}") from exc
    except OSError as exc:
        raise StoreConfigError(f"local media store: cannot use {data_dir}: {exc}") from exc


def s3_client(settings: Settings) -> Any:
    from grokgate.stores.media_s3 import s3_client as build

    region = getattr(settings, "aws_region", None)
    try:
        return build(region, getattr(settings, "aws_endpoint_url", None))
    except ImportError as exc:
        raise StoreConfigError(
            "GROKGATE_MEDIA=s3 needs boto3: pip install 'grokgate[aws]'"
        ) from exc


def _db_path(settings: Settings) -> Path:
    path = getattr(settings, "db_path", None)
    if path is not None:
        return Path(path)
    return Path(getattr(settings, "data_dir", None) or "data") / "grokgate.db"
