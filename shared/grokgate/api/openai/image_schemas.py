"""OpenAI wire shapes of the Images routes (pydantic v2)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageGenerationRequest(BaseModel):
    """``POST /v1/images/generations``. Options grok.com has no use for (quality, style,
    background, moderation, output_format...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    prompt: str = Field(max_length=32000)
    model: str | None = None
    n: int | None = 1
    size: str | None = None
    response_format: Literal["url", "b64_json"] | None = None
    user: str | None = None
    stream: bool | None = None


class ImageOut(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponseOut(BaseModel):
    created: int
    data: list[ImageOut]
    output_format: Literal["png", "webp", "jpeg"] | None = None
