"""The composition root: :class:`Runtime` builds the stores, the pool, the upstream clients and
the services lazily, one small part per concern (``accounts``, ``grok``, ``xai``, ``chat``,
``media``, ``jobs``, ``conversations``), each with :class:`~grokgate.runtime.cached.cached`.

Every surface, the CLI, the doctor and the video worker use it; it depends on no web
framework, so importing it loads neither FastAPI nor an HTTP client.
"""

from grokgate.runtime.accounts import parse_token_spec
from grokgate.runtime.root import STORES, Runtime, UndeclaredStoreError

__all__ = ["STORES", "Runtime", "UndeclaredStoreError", "parse_token_spec"]
