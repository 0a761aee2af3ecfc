"""Vercel entry of the models function (/v1/models, /health, unknown paths).

A lazy ASGI ``app``, built on its first call. Vercel installs grokgate itself (``uv sync``);
routes and limits are in vercel.json.
"""

from grokgate.api.lazy import lazy_app
from grokgate.manifest import function

app = lazy_app(function("models").surfaces)
