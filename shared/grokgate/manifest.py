"""What each deployed function is: the surfaces it serves, the stores it opens, the settings it
needs in the cloud and the IAM actions it may take on each resource.

This is the source of truth the deployment is checked against: ``tests/deploy/test_manifest.py``
compares ``template.yaml`` (routes, environment, the generated roles' statements) and
``vercel.json`` (entries, routes, limits) with it, and the function entries read their surfaces
from it. It ships in the layer because the entries import it; it is plain data, so importing it
imports nothing else (no FastAPI, no pydantic, no boto3).

Resources are named by their logical ids in ``template.yaml``; an S3 grant names the key pattern
it covers. Facts behind the actions: docs/serverless.md §2.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ADAPTER_SETTINGS",
    "BY_SURFACE",
    "COMMON_SETTINGS",
    "FUNCTIONS",
    "MEDIA_PREFIXES",
    "STORE_SETTINGS",
    "FunctionSpec",
    "Grant",
    "Setting",
    "Store",
    "function",
]


class Store(StrEnum):
    POOL = "pool"  # the account pool (DynamoDB AccountsTable)
    MEDIA = "media"  # generated files and shelved attachments (S3 MediaBucket)
    JOBS = "jobs"  # video jobs (DynamoDB JobsTable)
    CONVERSATIONS = "conversations"  # stored responses, conversations, threads


# where grokgate keeps each kind of file in the media bucket (lifecycle rules are per prefix)
MEDIA_PREFIXES = {"images": "images/", "videos": "videos/", "stored": "stored/"}


@dataclass(frozen=True, slots=True)
class Setting:
    """An environment variable a function gets: ``resource`` when its value names one (a table,
    the bucket, the secret), ``value`` when it is a fixed literal, neither when a parameter or
    a mapping gives it."""

    name: str
    resource: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """IAM ``actions`` on one resource; for the bucket, ``keys`` is the object key pattern
    (``images/*``) or None for the bucket itself."""

    resource: str
    actions: frozenset[str]
    keys: str | None = None


def _grant(resource: str, *actions: str, keys: str | None = None) -> Grant:
    return Grant(resource, frozenset(actions), keys)


# what every function gets (template.yaml's Globals): the secret, the pool, where to write
COMMON_SETTINGS = (
    Setting("GROKGATE_SECRETS", resource="Secrets"),
    Setting("GROKGATE_STORE", value="dynamodb"),
    Setting("GROKGATE_DYNAMODB_TABLE", resource="AccountsTable"),
    Setting("GROKGATE_DATA_DIR", value="/tmp/grokgate"),
    Setting("GROKGATE_CORS_ORIGINS"),
    Setting("GROKGATE_LOG_LEVEL"),
    Setting("GROKGATE_FLARESOLVERR_URL"),
    Setting("POWERTOOLS_METRICS_NAMESPACE", value="grokgate"),
    Setting("POWERTOOLS_SERVICE_NAME"),
)

# the settings that point a function at each store in the cloud
STORE_SETTINGS: dict[Store, tuple[Setting, ...]] = {
    Store.POOL: (
        Setting("GROKGATE_STORE", value="dynamodb"),
        Setting("GROKGATE_DYNAMODB_TABLE", resource="AccountsTable"),
    ),
    Store.MEDIA: (
        Setting("GROKGATE_MEDIA", value="s3"),
        Setting("GROKGATE_MEDIA_BUCKET", resource="MediaBucket"),
    ),
    Store.JOBS: (Setting("GROKGATE_DYNAMODB_JOBS_TABLE", resource="JobsTable"),),
    Store.CONVERSATIONS: (
        Setting("GROKGATE_DYNAMODB_CONVERSATIONS_TABLE", resource="ConversationsTable"),
        Setting("GROKGATE_RESPONSES_TTL"),
    ),
}

# Lambda Web Adapter (the chat function): docs/serverless.md §1.1 lists what 1.x reads
ADAPTER_SETTINGS = (
    Setting("AWS_LAMBDA_EXEC_WRAPPER", value="/opt/bootstrap"),
    Setting("AWS_LWA_INVOKE_MODE", value="response_stream"),
    Setting("AWS_LWA_PORT", value="8080"),
    Setting("AWS_LWA_READINESS_CHECK_PATH", value="/health"),
    Setting("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", value="200"),
    Setting("AWS_LWA_ASYNC_INIT", value="true"),
)

_SECRET = _grant("Secrets", "secretsmanager:GetSecretValue")
# a lease is a conditional UpdateItem; the snapshot a Scan; new accounts and shared values Puts
_POOL = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan")
# S3 answers 403 instead of 404 for a missing key unless the caller may list the bucket
_LIST = _grant("MediaBucket", "s3:ListBucket")
_IMAGES, _VIDEOS, _STORED = (f"{p}*" for p in MEDIA_PREFIXES.values())


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    logical_id: str  # in template.yaml
    lambda_entry: str  # the file Lambda enters (relative to the repository)
    vercel_entry: str  # the file Vercel builds
    surfaces: tuple[str, ...]  # grokgate.api.app surfaces: the routes it serves
    stores: frozenset[Store]
    settings: tuple[Setting, ...]  # beyond COMMON_SETTINGS
    grants: tuple[Grant, ...]
    streams: bool  # answers are streamed (Web Adapter on Lambda), not buffered (Mangum)
    catch_all: bool = False  # gets every path no other function routes (an OpenAI 404)
    vercel_max_duration: int = 60  # seconds
    vercel_memory: int = 2048  # MB

    def actions(self) -> set[tuple[str, str]]:
        """``(action, resource)`` pairs; a bucket object resource reads ``MediaBucket/<keys>``."""
        pairs = set()
        for grant in self.grants:
            where = f"{grant.resource}/{grant.keys}" if grant.keys else grant.resource
            pairs.update((action, where) for action in grant.actions)
        return pairs

    def env_names(self) -> set[str]:
        return {s.name for s in (*COMMON_SETTINGS, *self.settings)}


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="chat",
        logical_id="ChatFunction",
        lambda_entry="functions/chat/app.py",
        vercel_entry="functions/chat/vercel_app.py",
        surfaces=("chat",),
        # image models answer in chat too: their pictures go under images/ (api/openai/
        # media_chat.py); stored conversations shelve big attachments under stored/
        stores=frozenset({Store.POOL, Store.MEDIA, Store.CONVERSATIONS}),
        settings=(
            *ADAPTER_SETTINGS,
            Setting("GROKGATE_REQUEST_DEADLINE"),
            *STORE_SETTINGS[Store.MEDIA],
            *STORE_SETTINGS[Store.CONVERSATIONS],
        ),
        grants=(
            _SECRET,
            _grant("AccountsTable", *_POOL),
            _grant(
                "ConversationsTable",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ),
            _grant("MediaBucket", "s3:PutObject", "s3:GetObject", keys=_IMAGES),
            _grant("MediaBucket", "s3:PutObject", "s3:GetObject", keys=_STORED),
            _LIST,
        ),
        streams=True,
        vercel_max_duration=300,
    ),
    FunctionSpec(
        name="models",
        logical_id="ModelsFunction",
        lambda_entry="functions/models/handler.py",
        vercel_entry="functions/models/vercel_app.py",
        surfaces=("models",),  # and the console (/admin) through the catch-all route
        # the console manages the pool, lists every key's jobs and redirects to their files
        stores=frozenset({Store.POOL, Store.MEDIA, Store.JOBS}),
        settings=(*STORE_SETTINGS[Store.MEDIA], *STORE_SETTINGS[Store.JOBS]),
        grants=(
            _SECRET,
            _grant("AccountsTable", *_POOL, "dynamodb:DeleteItem"),
            _grant("JobsTable", "dynamodb:GetItem", "dynamodb:Scan"),
            _grant("MediaBucket", "s3:GetObject", keys=_VIDEOS),
        ),
        streams=False,
        catch_all=True,
        vercel_max_duration=15,
    ),
    FunctionSpec(
        name="images",
        logical_id="ImagesFunction",
        lambda_entry="functions/images/handler.py",
        vercel_entry="functions/images/vercel_app.py",
        surfaces=("images",),
        stores=frozenset({Store.POOL, Store.MEDIA}),
        settings=(Setting("GROKGATE_REQUEST_DEADLINE", value="27"), *STORE_SETTINGS[Store.MEDIA]),
        grants=(
            _SECRET,
            _grant("AccountsTable", *_POOL),
            _grant("MediaBucket", "s3:PutObject", "s3:GetObject", keys=_IMAGES),
        ),
        streams=False,
        vercel_max_duration=120,
    ),
    FunctionSpec(
        name="videos",
        logical_id="VideosFunction",
        lambda_entry="functions/videos/handler.py",
        vercel_entry="functions/videos/vercel_app.py",
        surfaces=("videos",),  # and the video jobs: asynchronous invocations of itself
        stores=frozenset({Store.POOL, Store.MEDIA, Store.JOBS}),
        settings=(
            *STORE_SETTINGS[Store.MEDIA],
            *STORE_SETTINGS[Store.JOBS],
            Setting("GROKGATE_VIDEO_WORKER_FUNCTION", resource="VideosFunction"),
            Setting("GROKGATE_VIDEO_RETENTION_SECONDS"),
        ),
        grants=(
            _SECRET,
            _grant("AccountsTable", *_POOL),
            _grant(
                "JobsTable",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:Scan",
            ),
            _grant("MediaBucket", "s3:PutObject", "s3:GetObject", "s3:DeleteObject", keys=_VIDEOS),
            _LIST,
            _grant("VideosFunction", "lambda:InvokeFunction"),
        ),
        streams=False,
        vercel_max_duration=300,
    ),
)

BY_SURFACE = {surface: spec for spec in FUNCTIONS for surface in spec.surfaces}


def function(name: str) -> FunctionSpec:
    """The function called ``name`` (``chat``, ``models``, ``images``, ``videos``)."""
    for spec in FUNCTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)
