"""Media in an S3 bucket, handed to clients as presigned GET URLs (docs/serverless.md §6).

A presigned URL dies with the credentials that signed it, and Lambda's role credentials are
short-lived: :meth:`S3MediaStore.url` signs again on every call (no network: signing is local)
with a short ``ttl``. Signing is always SigV4 with an explicit region (boto3 would otherwise
presign in the SigV2 style for us-east-1). The boto3 client is injected or built lazily;
calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from grokgate.stores.failures import unavailable
from grokgate.stores.media import MediaStore, content_disposition

__all__ = ["MAX_PRESIGN_SECONDS", "S3MediaStore", "s3_client"]

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's limit
DEFAULT_REGION = "us-east-1"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def s3_client(
    region: str | None = None, endpoint_url: str | None = None, **client_kwargs: Any
) -> Any:
    """An S3 client that presigns with SigV4.

    ``region`` defaults to the SDK's own resolution (``AWS_REGION``, config files), then
    us-east-1. With ``endpoint_url`` (moto, MinIO) addressing is path-style. Extra keyword
    arguments go to ``boto3.client`` (e.g. credentials).
    """
    import boto3

    from grokgate.aws import boto3_client

    if region is None:
        region = boto3.session.Session().region_name or DEFAULT_REGION
    config = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": "path"} if endpoint_url else None,
    }
    return boto3_client("s3", region, endpoint_url, config=config, **client_kwargs)


class S3MediaStore(MediaStore):
    redirects = True

    def __init__(
        self,
        bucket: str,
        client: Any | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        ttl: float = 900,
        prefix: str = "",
    ) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        if not 1 <= ttl <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"ttl must be 1 to {MAX_PRESIGN_SECONDS} seconds (SigV4's limit)")
        self.bucket = bucket
        self.ttl = ttl
        #: a folder inside the bucket ("media" → keys under "media/"); "" for the bucket root
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self._client = client
        self._client_factory = client_factory

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory() if self._client_factory else s3_client()
        return self._client

    def object_key(self, key: str) -> str:
        """The S3 object key of a media key."""
        return self.prefix + key

    async def _call(self, operation: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in a thread; a missing object raises :class:`_Missing`, any other failure
        :class:`StoreUnavailableError`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(fn)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise _Missing(code) from exc
            detail = f"S3 {operation} in bucket {self.bucket!r} failed: {code or 'error'}"
            raise unavailable(f"complete an S3 {operation}", exc, detail) from exc
        except BotoCoreError as exc:
            detail = f"S3 {operation} in bucket {self.bucket!r} failed: {type(exc).__name__}"
            raise unavailable(f"complete an S3 {operation}", exc, detail) from exc

    async def _put(self, key: str, data: bytes, content_type: str) -> None:
        client = self.client
        await self._call(
            "PutObject",
            lambda: client.put_object(
                Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type
            ),
        )

    async def _get(self, key: str) -> tuple[bytes, str] | None:
        client = self.client

        def fetch() -> tuple[bytes, str]:
            out = client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            with out["Body"] as body:
                data = body.read()
            return data, out.get("ContentType") or "application/octet-stream"

        try:
            return await self._call("GetObject", fetch)
        except _Missing:
            return None

    async def _delete(self, key: str) -> bool:
        # DeleteObject succeeds whether or not the object exists: ask first.
        client = self.client
        object_key = self.object_key(key)
        try:
            await self._call(
                "HeadObject", lambda: client.head_object(Bucket=self.bucket, Key=object_key)
            )
        except _Missing:
            return False
        await self._call(
            "DeleteObject", lambda: client.delete_object(Bucket=self.bucket, Key=object_key)
        )
        return True

    async def _url(
        self, key: str, *, base_url: str, filename: str | None, content_type: str | None
    ) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if content_type is not None:
            params["ResponseContentType"] = content_type
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        client = self.client
        # Signing is local, but resolving credentials the first time may not be.
        return await self._call(
            "presign",
            lambda: client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(self.ttl)
            ),
        )


class _Missing(Exception):
    pass
