"""Open the stores the settings name: accounts, jobs and stored conversations in SQLite (local
default) or DynamoDB (the cloud); media in a local directory (default) or S3."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    if settings.vercel:
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
    if settings.store == "dynamodb":
        from grokgate.stores.jobs_dynamodb import DynamoJobStore

        return DynamoJobStore(
            settings.dynamodb_jobs_table,
            client_factory=lambda: dynamodb_client(settings),
        )
    _not_on_vercel(settings, "The SQLite job store", "GROKGATE_STORE=dynamodb")
    from grokgate.stores.jobs_sqlite import SqliteJobStore

    return SqliteJobStore(settings.db_path)


def open_conversation_store(settings: Settings) -> ConversationStore:
    """The store of stored responses, conversations and threads for ``settings`` (same backend
    as the accounts); nothing connects until the first operation."""
    if settings.store == "dynamodb":
        from grokgate.stores.conversations_dynamodb import DynamoConversationStore

        return DynamoConversationStore(
            settings.dynamodb_conversations_table,
            client_factory=lambda: dynamodb_client(settings),
        )
    _not_on_vercel(settings, "The SQLite conversation store", "GROKGATE_STORE=dynamodb")
    from grokgate.stores.conversations_sqlite import SqliteConversationStore

    return SqliteConversationStore(settings.db_path)


def open_media_store(settings: Settings) -> MediaStore:
    """The media store for ``settings``: S3 (``media=s3``, ``media_bucket``) or files under
    ``data_dir/media``, whose URLs are signed with ``media_secret`` or, by default, the key in
    ``data_dir/media.key`` (read, or created, now); URLs live ``media_url_ttl`` seconds."""
    if settings.media == "s3":
        bucket = settings.media_bucket
        if not bucket:
            raise StoreConfigError("GROKGATE_MEDIA=s3 needs GROKGATE_MEDIA_BUCKET (a bucket name)")
        from grokgate.stores.media_s3 import S3MediaStore

        try:
            return S3MediaStore(
                bucket,
                client_factory=lambda: s3_client(settings),
                ttl=settings.media_url_ttl,
            )
        except ValueError as exc:
            raise StoreConfigError(f"GROKGATE_MEDIA_URL_SECONDS: {exc}") from exc
    _not_on_vercel(
        settings, "The local media folder", "GROKGATE_MEDIA=s3 and GROKGATE_MEDIA_BUCKET"
    )
    from grokgate.stores.media_local import LocalMediaStore, local_secret

    data_dir = settings.data_dir
    configured = settings.media_secret
    try:
        if configured is not None:
            secret = configured.get_secret_value().encode()
        else:
            secret = local_secret(data_dir)
        return LocalMediaStore(data_dir / "media", secret, ttl=settings.media_url_ttl)
    except ValueError as exc:
        raise StoreConfigError(f"local media store: {exc}") from exc
    except OSError as exc:
        raise StoreConfigError(f"local media store: cannot use {data_dir}: {exc}") from exc


def s3_client(settings: Settings) -> Any:
    from grokgate.stores.media_s3 import s3_client as build

    try:
        return build(settings.aws_region, settings.aws_endpoint_url)
    except ImportError as exc:
        raise StoreConfigError(
            "GROKGATE_MEDIA=s3 needs boto3: pip install 'grokgate[aws]'"
        ) from exc
