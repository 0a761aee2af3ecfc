"""OpenAI wire shapes of the Videos routes (pydantic v2)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageReference(BaseModel):
    """``input_reference`` given as JSON (``image_url``: an http(s) URL or a data URI)."""

    model_config = ConfigDict(extra="forbid")
    image_url: str | None = None
    file_id: str | None = None


class VideoCreateRequest(BaseModel):
    """``POST /v1/videos`` as JSON (the SDK sends the same fields as multipart)."""

    model_config = ConfigDict(extra="allow")
    prompt: str = Field(max_length=32000)
    model: str | None = None
    seconds: str | int | None = None
    size: str | None = None
    preset: str | None = None  # grok's --mode: custom, normal, fun, spicy
    input_reference: ImageReference | str | None = None


class VideoErrorOut(BaseModel):
    code: str
    message: str


class VideoOut(BaseModel):
    id: str
    object: Literal["video"] = "video"
    created_at: int
    completed_at: int | None = None
    expires_at: int | None = None
    error: VideoErrorOut | None = None
    model: str
    progress: int
    prompt: str | None = None
    remixed_from_video_id: str | None = None
    seconds: str
    size: str
    status: Literal["queued", "in_progress", "completed", "failed"]


class VideoListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[VideoOut]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VideoDeletedOut(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool = True
