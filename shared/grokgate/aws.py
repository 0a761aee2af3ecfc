"""One way to build a boto3 client: the same retries and connect timeout for every AWS service
grokgate calls (DynamoDB, S3, Lambda, Secrets Manager, SSM). boto3 is imported on the call,
never at import time; without it this raises ImportError, which callers turn into their own
configuration error."""

from __future__ import annotations

from typing import Any


def boto3_client(
    service: str,
    region: str | None = None,
    endpoint_url: str | None = None,
    *,
    config: dict[str, Any] | None = None,
    **client_kwargs: Any,
) -> Any:
    """A client for ``service``; ``config`` adds botocore ``Config`` options (S3's signature
    version, say), ``client_kwargs`` go to ``boto3.client`` (credentials, for instance)."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 5,
        **(config or {}),
    }
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(**options),
        **client_kwargs,
    )
