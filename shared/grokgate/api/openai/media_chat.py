"""Chat Completions with an image model: the pictures come back as markdown images.

Many chat UIs only speak chat, so ``grok-imagine-image*`` also works there (grok2api's
"unified entry point"): the prompt is the last user message's text, and for the edit model its
images are the pictures to edit. The answer is an ordinary completion (streamed or not) whose
text is one markdown image per picture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request

from grokgate.api.deps import public_base_url, runtime_of
from grokgate.api.openai.schemas import ChatCompletionRequest
from grokgate.api.openai.translate import to_message
from grokgate.core.attachments import FileInput
from grokgate.core.media.images import ImageRequest
from grokgate.core.registry import Kind, ModelSpec
from grokgate.errors import InvalidRequestError
from grokgate.events import Event, Finish, Served, TextDelta


def _last_user(body: ChatCompletionRequest) -> tuple[str, list[FileInput]]:
    """The last user message's text and images (its parts read as chat reads them)."""
    for index in range(len(body.messages) - 1, -1, -1):
        if body.messages[index].role == "user":
            message = to_message(index, body.messages[index])
            return "\n".join(message.texts), [f for f in message.files if f.kind == "image"]
    raise InvalidRequestError("an image model needs a user message to draw", param="messages")


async def media_events(
    body: ChatCompletionRequest, spec: ModelSpec, request: Request
) -> AsyncIterator[Event]:
    """The events of an answer made of generated pictures (generated before the first one)."""
    if spec.kind is Kind.VIDEO:
        raise InvalidRequestError(
            f"{spec.id} makes videos, which take minutes: use POST /v1/videos",
            param="model",
            code="invalid_model",
        )
    prompt, images = _last_user(body)
    runtime = runtime_of(request)
    inputs = ()
    if spec.kind is Kind.IMAGE_EDIT:
        if not images:
            raise InvalidRequestError(
                f"{spec.id} edits pictures: attach at least one image", param="messages"
            )
        inputs = tuple(await runtime.attachments().resolve(images))
    req = ImageRequest(spec=spec, prompt=prompt, n=body.n or 1, inputs=inputs)
    service = await runtime.image_service()
    answer = await service.generate(req, base_url=public_base_url(request))
    text = "\n\n".join(f"![image {i + 1}]({image.url})" for i, image in enumerate(answer.images))
    yield Served(account=answer.account, transport="imagine")
    yield TextDelta(text)
    yield Finish("stop")
