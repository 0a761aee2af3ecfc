"""Logging with secrets redacted.

Every handler of the ``grokgate`` logger tree gets a filter that masks registered secrets (SSO
tokens, API keys, cookies) and anything shaped like one (``sso=...`` cookies, bearer tokens,
JWT-like strings), so a secret cannot reach a log line even by accident.
"""

from __future__ import annotations

import logging
import re
import threading

LOGGER_NAME = "grokgate"
# Libraries that may log what we hand them (SQL parameters, HTTP headers) at DEBUG level.
THIRD_PARTY_LOGGERS = (
    "aiosqlite",
    "httpx",
    "httpcore",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.connection",
    "hpack",
    "hpack.hpack",
    "h2",
    "h2.connection",
    "uvicorn.error",
    "uvicorn.access",
    "websockets",
    "botocore",
    "boto3",
)

_PATTERNS = (
    re.compile(r"(?i)(sso(?:-rw)?=)[^;\s\"']+"),
    re.compile(r"(?i)(bearer\s+)[^\s\"']+"),
    re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]+){0,2}"),
    re.compile(r"(\bxai-)[A-Za-z0-9_-]{12,}"),  # xAI API keys
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^@\s/]+(?=@)"),  # URL credentials
    re.compile(r"(?i)(cf_clearance=)[^;\s\"']+"),
)


class _SecretRegistry:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, mask(secret))
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        return text


_registry = _SecretRegistry()


def mask(secret: str) -> str:
    """A display form of a secret: its first four characters, then an ellipsis."""
    return f"{secret[:4]}…" if len(secret) > 8 else "***"


def register_secret(secret: str) -> None:
    """Make sure ``secret`` never appears in a log line."""
    _registry.add(secret)


def register_cookies(cookies: str) -> None:
    """Make sure neither a cookie string nor any of its values appears in a log line."""
    register_secret(cookies)
    for part in cookies.split(";"):
        register_secret(part.strip())
        register_secret(part.partition("=")[2].strip())


def redact(text: str) -> str:
    return _registry.redact(text)


def clip(text: str, limit: int) -> str:
    """``text`` redacted, then cut to ``limit`` characters: redacting first means a cut can
    never fall inside a secret and leave half of it unrecognizable (and so unmasked)."""
    return redact(text)[:limit]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def get_logger(name: str = "") -> logging.Logger:
    """A logger of the ``grokgate`` tree whose records are redacted when they are created.

    (A logger's filters see only records made on that logger, not on its children, and test
    capture handlers sit on the root logger; so each logger gets its own filter.)
    """
    logger = logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
    _install_filter(logger)
    return logger


def protect_third_party() -> None:
    """Redact the records of the libraries grokgate drives, too (idempotent)."""
    for name in THIRD_PARTY_LOGGERS:
        _install_filter(logging.getLogger(name))


def configure_logging(level: str = "INFO") -> None:
    """Install a redacting stream handler on the ``grokgate`` logger (idempotent)."""
    root = logging.getLogger(LOGGER_NAME)
    root.setLevel(level.upper())
    if not any(getattr(h, "_grokgate", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._grokgate = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    _install_filter(root)
    protect_third_party()


def _install_filter(logger: logging.Logger) -> None:
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
