"""Settings from AWS Secrets Manager and SSM SecureString (moto's server over real HTTP)."""

from __future__ import annotations

import json
import uuid

import pytest

from grokgate.cloud_secrets import SecretsError
from grokgate.config import Settings
from grokgate.stores.open import StoreConfigError, open_job_store, open_media_store, open_store
from tests.support import aws_client

KEY = "sk-from-the-secret"
TOKEN = "sso-token-from-the-secret"


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "GROKGATE_AWS_REGION": "us-east-1",
        "GROKGATE_AWS_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("GROKGATE_API_KEYS", "GROKGATE_SSO_TOKENS", "GROKGATE_SECRETS"):
        monkeypatch.delenv(name, raising=False)
    return moto_endpoint


def _secret(endpoint: str, doc: object) -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    made = aws_client("secretsmanager", endpoint).create_secret(
        Name=f"grokgate-{uuid.uuid4().hex[:8]}/settings", SecretString=text
    )
    return str(made["ARN"])


def _settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_secrets_manager_secret_fills_the_secret_settings(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _secret(
        aws,
        {
            "api_keys": f"{KEY}, sk-two",
            "GROKGATE_SSO_TOKENS": [f"super:{TOKEN}"],
            "xai_api_keys": "xai-abc",
            "cf_cookies": "cf_clearance=1",
        },
    )
    monkeypatch.setenv("GROKGATE_SECRETS", arn)
    settings = _settings()
    assert [k.get_secret_value() for k in settings.api_keys] == [KEY, "sk-two"]
    assert [t.get_secret_value() for t in settings.sso_tokens] == [f"super:{TOKEN}"]
    assert [k.get_secret_value() for k in settings.xai_api_keys] == ["xai-abc"]
    assert settings.cf_cookie_value == "cf_clearance=1"
    assert KEY not in repr(settings) and TOKEN not in repr(settings)
    # an environment variable wins over the secret
    monkeypatch.setenv("GROKGATE_API_KEYS", "sk-env")
    assert [k.get_secret_value() for k in _settings().api_keys] == ["sk-env"]
    # the secret's name without the ARN works too
    name = arn.split(":secret:")[1].rsplit("-", 1)[0]  # the ARN ends with a random suffix
    monkeypatch.setenv("GROKGATE_SECRETS", f"secretsmanager:{name}")
    assert [t.get_secret_value() for t in _settings().sso_tokens] == [f"super:{TOKEN}"]


def test_an_ssm_securestring_parameter_works_the_same(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"/grokgate/{uuid.uuid4().hex[:8]}/settings"
    aws_client("ssm", aws).put_parameter(
        Name=name, Type="SecureString", Value=json.dumps({"api_keys": KEY})
    )
    monkeypatch.setenv("GROKGATE_SECRETS", f"ssm:{name}")
    assert [k.get_secret_value() for k in _settings().api_keys] == [KEY]


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"api_key": KEY}, "'api_key' is not a grokgate setting"),
        (f"{KEY} not json", "must hold a JSON object"),
        ([KEY], "must hold a JSON object"),
    ],
)
def test_a_secret_that_does_not_hold_settings_is_a_clear_error_without_its_values(
    aws: str, monkeypatch: pytest.MonkeyPatch, doc: object, says: str
) -> None:
    monkeypatch.setenv("GROKGATE_SECRETS", _secret(aws, doc))
    with pytest.raises(SecretsError, match=says) as caught:
        _settings()
    assert KEY not in str(caught.value)


def test_a_missing_secret_names_the_reference_and_the_reason(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROKGATE_SECRETS", "grokgate/nope")
    with pytest.raises(SecretsError, match="grokgate/nope: ResourceNotFoundException"):
        _settings()
    monkeypatch.setenv("GROKGATE_SECRETS", "ssm:/grokgate/nope")
    with pytest.raises(SecretsError, match="ParameterNotFound"):
        _settings()


def test_without_the_variable_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROKGATE_SECRETS", raising=False)
    monkeypatch.setenv("GROKGATE_AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    assert _settings().secrets is None


def test_on_vercel_local_state_is_refused_with_what_to_set_instead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("VERCEL", "1")
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.vercel
    for opener, says in (
        (open_store, "GROKGATE_STORE=dynamodb"),
        (open_job_store, "GROKGATE_STORE=dynamodb"),
        (open_media_store, "GROKGATE_MEDIA=s3"),
    ):
        with pytest.raises(StoreConfigError, match="cannot be shared across Vercel") as caught:
            opener(settings)
        assert says in str(caught.value)
    cloud = Settings(  # type: ignore[call-arg]
        _env_file=None, store="dynamodb", media="s3", media_bucket="b", data_dir=tmp_path
    )
    open_store(cloud), open_job_store(cloud), open_media_store(cloud)  # nothing connects yet
    monkeypatch.setenv("GROKGATE_VERCEL", "false")  # e.g. `vercel dev` on a laptop
    assert not Settings(_env_file=None).vercel  # type: ignore[call-arg]


def test_without_boto3_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "botocore.exceptions", None)  # import fails
    monkeypatch.setenv("GROKGATE_SECRETS", "grokgate/settings")
    with pytest.raises(SecretsError, match=r"needs boto3: pip install 'grokgate\[aws\]'"):
        _settings()
