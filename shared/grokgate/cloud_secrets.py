"""Settings kept in AWS Secrets Manager or an SSM SecureString parameter.

``GROKGATE_SECRETS`` names one secret whose value is a JSON object of settings, for example
``{"api_keys": "sk-a,sk-b", "sso_tokens": "super:eyJ...", "xai_api_keys": "xai-..."}``. Keys are
setting names (``api_keys``) or their environment names (``GROKGATE_API_KEYS``); list settings
take a comma-separated string or a JSON array. It is read once, when the settings are first built
(on a function's first request, not at import), and environment variables win over it.

Where to look is told by the reference's shape:

- ``arn:aws:secretsmanager:...``, ``secretsmanager:<name>`` or a bare name: Secrets Manager;
- ``arn:aws:ssm:...:parameter/<name>`` or ``ssm:<name>``: SSM Parameter Store, decrypted.

Errors name the secret and the key, never a value.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

ENV_VAR = "GROKGATE_SECRETS"
PREFIX = "GROKGATE_"


class SecretsError(RuntimeError):
    """The secret named by ``GROKGATE_SECRETS`` cannot be read or does not hold settings."""


def _client(service: str) -> Any:
    """The settings are not built yet: the region and endpoint come from the environment."""
    from grokgate.aws import boto3_client

    return boto3_client(
        service,
        os.environ.get(f"{PREFIX}AWS_REGION") or None,
        os.environ.get(f"{PREFIX}AWS_ENDPOINT_URL") or None,
    )


def fetch(reference: str) -> str:
    """The secret's text: from SSM (decrypted) or Secrets Manager, by the reference's shape."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise SecretsError(f"{ENV_VAR} needs boto3: pip install 'grokgate[aws]'") from exc

    try:
        if reference.startswith(("ssm:", "arn:aws:ssm:")):
            name = reference.removeprefix("ssm:")
            answer = _client("ssm").get_parameter(Name=name, WithDecryption=True)
            return str(answer["Parameter"]["Value"])
        secret_id = reference.removeprefix("secretsmanager:")
        answer = _client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretsError(f"cannot read {ENV_VAR}={reference}: {code}") from exc
    except BotoCoreError as exc:
        raise SecretsError(f"cannot read {ENV_VAR}={reference}: {type(exc).__name__}") from exc
    if "SecretString" not in answer:
        raise SecretsError(f"{ENV_VAR}={reference} holds binary data, not a JSON object")
    return str(answer["SecretString"])


def parse(text: str, fields: dict[str, FieldInfo], reference: str) -> dict[str, Any]:
    """The settings in a secret's text, keyed by field name; unknown keys are an error."""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise SecretsError(f"{ENV_VAR}={reference} must hold a JSON object of settings")
    found: dict[str, Any] = {}
    for key, value in doc.items():
        name = str(key).lower().removeprefix(PREFIX.lower())
        if name not in fields or name == "secrets":
            raise SecretsError(f"{ENV_VAR}={reference}: {key!r} is not a grokgate setting")
        found[name] = value
    return found


class CloudSecretsSource(PydanticBaseSettingsSource):
    """A pydantic-settings source over the secret named by ``GROKGATE_SECRETS``."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, Any] | None = None

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        if self._values is None:
            reference = os.environ.get(ENV_VAR, "").strip()
            if not reference:
                self._values = {}
            else:
                fields = self.settings_cls.model_fields
                self._values = parse(fetch(reference), fields, reference)
        return self._values
