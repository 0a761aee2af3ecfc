"""Settings, read from the environment (prefix ``GROKGATE_``) and an optional ``.env`` file.

Nothing here runs at import time: call :func:`get_settings` (cached) or build ``Settings()``.
Every field is listed, with its default, in the README's configuration table.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from grokgate.upstream.browser.profiles import Fingerprint
from grokgate.upstream.browser.profiles import resolve as resolve_fingerprint

# The xAI API's chat models (docs/xai-api.md §5); GROKGATE_XAI_MODELS replaces the list.
DEFAULT_XAI_MODELS = (
    "grok-4",
    "grok-4-fast-reasoning",
    "grok-4-fast-non-reasoning",
    "grok-4.3",
    "grok-build-0.1",
    "grok-4.20-0309-reasoning",
    "grok-4.20-0309-non-reasoning",
    "grok-4.20-multi-agent-0309",
)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")  # any port


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GROKGATE_", env_file=".env", extra="ignore", frozen=True
    )

    # --- where secrets live in the cloud (see grokgate.cloud_secrets) ---
    secrets: str | None = None  # a Secrets Manager secret or ssm:<SecureString parameter>
    # set by Vercel; GROKGATE_VERCEL=false overrides it (e.g. under `vercel dev`)
    vercel: bool = Field(False, validation_alias=AliasChoices("GROKGATE_VERCEL", "VERCEL"))
    # set by Lambda (and the Web Adapter's mode): their payload limits apply (api/limits.py)
    aws_lambda: str | None = Field(None, validation_alias="AWS_LAMBDA_FUNCTION_NAME")
    aws_lwa_invoke_mode: str | None = Field(None, validation_alias="AWS_LWA_INVOKE_MODE")

    # --- client surface ---
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    admin_key: SecretStr | None = None  # operator endpoints (/admin/...); none while unset
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)  # "*": any
    # Host header allow-list (host or host:port, "*": any); empty: any when api_keys are set,
    # else loopback names only (DNS rebinding). See allowed_host_list.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    keepalive_seconds: float = Field(15.0, gt=0)
    show_reasoning: bool = True
    # slow and too many clients (`grokgate serve`; the last two apply wherever the app runs)
    header_timeout: float = Field(15.0, gt=0)  # request line + headers, from connect/1st byte
    body_timeout: float = Field(30.0, gt=0)  # silence between two chunks of a request body: 408
    max_concurrent_requests: int = Field(256, ge=1)  # in flight at once; more: 503 server_busy

    # --- local state ---
    data_dir: Path = Path("data")
    store: Literal["sqlite", "dynamodb"] = "sqlite"
    dynamodb_table: str = "grokgate-accounts"
    aws_region: str | None = None  # default: the AWS SDK's own resolution (AWS_REGION, ...)
    aws_endpoint_url: str | None = None  # a local DynamoDB / moto, for development
    demo: bool | None = None  # None: demo mode when the pool has no account

    # --- the pool ---
    lease_seconds: float = Field(360.0, gt=0)  # a crashed holder's slot comes back after this
    pool_snapshot_seconds: float = Field(5.0, ge=0)  # how stale an instance's view may get
    quota_sync_seconds: float = Field(120.0, ge=0)  # re-read a mode's quota after use, at most
    quota_refresh_seconds: float = Field(300.0, ge=0)  # full refresh after a 429, at most

    # --- grok.com web accounts ---
    sso_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    default_tier: Literal["basic", "super", "heavy"] = "basic"
    max_inflight: int = Field(8, ge=1)
    cf_cookies: SecretStr | None = None  # the clearance of the single egress (cookie string)
    grok_base_url: str = "https://grok.com"
    # who grokgate is to grok.com: a curl_cffi Chrome profile and/or a Chrome User-Agent of the
    # same version (grokgate.upstream.browser.profiles; the newest profile when both are unset)
    impersonate: str | None = None
    user_agent: str | None = None
    grok_ca_file: str | None = None  # a CA bundle for grok.com calls (tests, a private mirror)
    # egress proxies (http://, https://, socks5://, socks5h://; credentials allowed): every
    # grok.com account is pinned to one, so its traffic always leaves from the same address
    proxies: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    proxy_rest_seconds: float = Field(30.0, gt=0)  # a failed proxy is not used for this long
    proxy_dead_after: int = Field(3, ge=1)  # failures in a row that declare a proxy dead
    proxy_dead_seconds: float = Field(600.0, gt=0)  # a dead proxy is tried again after this
    # per-egress clearances: JSON {"<proxy host:port or direct>": {"cookies": "cf_clearance=…",
    # "user_agent": "Mozilla/5.0 … Chrome/146…"}}; the store keeps what FlareSolverr earns
    clearances: SecretStr | None = None
    flaresolverr_url: str | None = None  # solve Cloudflare challenges per egress (its v1 API)
    flaresolverr_timeout: float = Field(60.0, gt=0)
    clearance_retry_seconds: float = Field(300.0, ge=0)  # no new solve for an egress within this
    web_chat_transport: Literal["auto", "ws", "rest"] = "auto"  # auto: WS, REST if refused
    ws_heartbeat_seconds: float = Field(25.0, gt=0)  # pings on the WS chat gateway

    # --- the xAI API ---
    xai_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    xai_base_url: str = "https://api.x.ai"
    xai_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_XAI_MODELS)
    )
    xai_image_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["grok-2-image-1212"]
    )
    xai_max_inflight: int = Field(16, ge=1)  # concurrent requests per xAI key
    xai_ca_file: str | None = None  # a CA bundle for the xAI upstream (a private endpoint)

    # --- x-statsig-id ---
    statsig_header_hex: str | None = None
    statsig_suffix: str | None = None
    statsig_trailer: int = Field(3, ge=0, le=255)
    statsig_provider_url: str | None = None

    # --- upstream behaviour ---
    connect_timeout: float = Field(10.0, gt=0)
    idle_timeout: float = Field(60.0, gt=0)
    request_deadline: float = Field(300.0, gt=0)
    max_retries: int = Field(1, ge=0, le=5)
    cooldown_seconds: float = Field(900.0, ge=0)  # a 429 without Retry-After spends the mode

    # --- images and files sent by clients ---
    max_attachment_bytes: int = Field(10 * 1024 * 1024, gt=0)  # per image or file
    max_request_attachment_bytes: int = Field(25 * 1024 * 1024, gt=0)  # all of one request's
    # a whole request body: 25 MiB of attachments as base64 (33.4 MiB) plus a long conversation
    max_body_bytes: int = Field(48 * 1024 * 1024, gt=0)
    fetch_timeout: float = Field(15.0, gt=0)  # fetching one http(s) image/file URL
    fetch_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)  # host:port

    # --- generated media (images, videos) ---
    grok_assets_url: str = "https://assets.grok.com"  # where grok.com's media files live
    media_public_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["imagine-public.x.ai", "imgen.x.ai"]
    )  # their URLs open without cookies and are handed to clients as they are
    media: Literal["local", "s3"] = "local"  # where grokgate keeps the files it hands out
    media_bucket: str | None = None  # the S3 bucket (media=s3)
    media_url_seconds: float | None = Field(None, gt=0)  # URL lifetime (media_url_ttl)
    media_secret: SecretStr | None = None  # signs local media URLs (default: data_dir/media.key)
    public_base_url: str | None = None  # this gateway's URL as clients see it (local media URLs)
    max_media_bytes: int = Field(64 * 1024 * 1024, gt=0)  # one generated file, downloaded
    dynamodb_jobs_table: str = "grokgate-jobs"
    video_worker_function: str | None = None  # Lambda to invoke (Event) per video job
    lambda_endpoint_url: str | None = None  # a local Lambda API, for development
    video_heartbeat_seconds: float = Field(10.0, gt=0)  # a running job says it is alive
    video_stale_seconds: float = Field(120.0, gt=0)  # silent this long: the job is failed
    video_queue_seconds: float = Field(300.0, gt=0)  # queued and never started: failed
    video_retention_seconds: float = Field(7 * 86400.0, gt=0)  # jobs and their files expire
    # local files only (S3 and DynamoDB expire by lifecycle rules and TTL): images and other
    # media older than this are deleted by the sweeper, which runs every sweep_seconds (0: off)
    media_retention_seconds: float = Field(7 * 86400.0, gt=0)
    sweep_seconds: float = Field(3600.0, ge=0)
    # stored Responses, Conversations and Anthropic threads (stores/conversations.py)
    responses_ttl_seconds: float = Field(
        30 * 86400.0,
        gt=0,
        validation_alias=AliasChoices("GROKGATE_RESPONSES_TTL", "responses_ttl_seconds"),
    )
    dynamodb_conversations_table: str = "grokgate-conversations"

    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        from grokgate.cloud_secrets import CloudSecretsSource

        secrets = CloudSecretsSource(settings_cls)
        return (init_settings, env_settings, dotenv_settings, secrets, file_secret_settings)

    @field_validator(
        "api_keys",
        "cors_origins",
        "allowed_hosts",
        "sso_tokens",
        "fetch_allow_hosts",
        "media_public_hosts",
        "proxies",
        "xai_api_keys",
        "xai_models",
        "xai_image_models",
        mode="before",
    )
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("statsig_header_hex")
    @classmethod
    def _header_hex(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            raw = bytes.fromhex(value)
        except ValueError as exc:
            raise ValueError("statsig_header_hex must be hex") from exc
        if len(raw) != 49:
            raise ValueError(f"statsig_header_hex must be 49 bytes, got {len(raw)}")
        return value.lower()

    @field_validator("admin_key", mode="before")
    @classmethod
    def _admin_key(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or text == "":
            return None
        if isinstance(text, str) and len(text) < 16:
            raise ValueError("GROKGATE_ADMIN_KEY must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _fingerprint(self) -> Settings:
        self.fingerprint  # noqa: B018 - a mismatch is a start-up error naming both settings
        return self

    @property
    def fingerprint(self) -> Fingerprint:
        """The Chrome profile and User-Agent grok.com calls use (ValueError if they clash)."""
        return resolve_fingerprint(self.impersonate, self.user_agent)

    @property
    def cf_cookie_value(self) -> str | None:
        """The Cloudflare cookies as sent upstream (None when not configured)."""
        return self.cf_cookies.get_secret_value() if self.cf_cookies else None

    @property
    def sweeps_locally(self) -> bool:
        """Whether this process deletes expired local files (local media or SQLite state)."""
        return self.sweep_seconds > 0 and (self.media == "local" or self.store == "sqlite")

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    @property
    def allowed_host_list(self) -> list[str]:
        """The Host headers served: the configured list, else any with API keys, else the
        loopback names (an open gateway answers only to its own machine)."""
        if self.allowed_hosts:
            return [host.lower() for host in self.allowed_hosts]
        return ["*"] if self.auth_enabled else list(LOOPBACK_HOSTS)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "grokgate.db"

    @property
    def media_url_ttl(self) -> float:
        """How long a media URL works: ``media_url_seconds``, else 900 s for S3's presigned
        URLs and 3600 s for the local ones."""
        if self.media_url_seconds is not None:
            return self.media_url_seconds
        return 900.0 if self.media == "s3" else 3600.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
