"""Vercel entry of the images function (image generations and edits).

A lazy ASGI ``app``, built on its first call. Vercel installs grokgate itself (``uv sync``);
routes and limits are in vercel.json.
"""

from grokgate.api.lazy import lazy_app
from grokgate.manifest import function

app = lazy_app(function("images").surfaces)
