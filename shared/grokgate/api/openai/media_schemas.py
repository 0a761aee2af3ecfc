"""What the media routes share: the default models and the text fields of a multipart form.
The wire shapes are in :mod:`.image_schemas` and :mod:`.video_schemas`, so the images function
does not build the video shapes at its cold start, nor the videos function the image ones."""

from __future__ import annotations

from typing import Any

DEFAULT_IMAGE_MODEL = "grok-imagine-image"
DEFAULT_EDIT_MODEL = "grok-imagine-image-edit"
DEFAULT_VIDEO_MODEL = "grok-imagine-video"


def form_fields(form: Any) -> dict[str, Any]:
    """The text fields of a multipart form (files left out), last value wins."""
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out[key] = value
    return out
