"""The chat service: lease an account, stream the answer, learn from the outcome, retry.

Surfaces hand it a :class:`ChatJob` (a model spec and the flattened prompt) and get back events.
The first event is always :class:`~grokgate.events.Served`, yielded only once an upstream has
accepted the request, so a surface can still answer with a proper HTTP error until then. A
failure before any text or reasoning reached the client is retried on another account
(``max_retries`` times); after that it propagates, and the surface ends its stream with an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

from grokgate.core.accounts.attempts import stream_with_account
from grokgate.core.accounts.pool import AccountPool
from grokgate.core.attachments import Attachment, FileInput
from grokgate.core.limits import limit_output
from grokgate.core.registry import ModelSpec
from grokgate.core.tools.spec import ToolSet
from grokgate.core.tools.stream import sieve_events
from grokgate.errors import InvalidRequestError
from grokgate.events import Event, ReasoningDelta, TextDelta
from grokgate.stores.records import Account, Lease


class ChatUpstream(Protocol):
    transport: str

    def chat(
        self,
        account: Account,
        message: str,
        mode: str,
        *,
        show_reasoning: bool = True,
        attachments: Sequence[Attachment] = (),
    ) -> AsyncIterator[Event]: ...


class FileResolver(Protocol):
    async def resolve(self, inputs: Sequence[FileInput]) -> list[Attachment]: ...


@dataclass(frozen=True, slots=True)
class ChatJob:
    """One request, surface-neutral: build it with :func:`grokgate.core.conversation.build_job`."""

    spec: ModelSpec
    prompt: str  # the flattened conversation, tool instructions included
    show_reasoning: bool = True
    tools: ToolSet | None = None  # offered tools; the answer goes through the tool sieve
    files: tuple[FileInput, ...] = ()  # images and files to upload and attach
    max_output_tokens: int | None = None  # cut the visible answer here (finish reason length)


class ChatService:
    def __init__(
        self,
        pool: AccountPool,
        upstream: ChatUpstream,
        *,
        max_retries: int = 1,
        files: FileResolver | None = None,
    ) -> None:
        self.pool = pool
        self.upstream = upstream
        self.max_retries = max_retries
        self.files = files

    async def stream(self, job: ChatJob) -> AsyncIterator[Event]:
        """The answer's events: attachments resolved first (bad ones are 400s before any
        account is used), then the attempts, through the tool sieve and the output limit."""
        attachments: list[Attachment] = []
        if job.files:
            if self.files is None:
                raise InvalidRequestError("this gateway does not accept files", param="messages")
            attachments = await self.files.resolve(job.files)
        events = self._attempts(job, attachments)
        if job.tools is not None and job.tools.calls_allowed:
            events = sieve_events(events, job.tools)
        if job.max_output_tokens is not None:
            events = limit_output(events, job.max_output_tokens)
        async with aclosing(events) as source:
            async for event in source:
                yield event

    def _attempts(self, job: ChatJob, attachments: list[Attachment]) -> AsyncIterator[Event]:
        def work(account: Account, lease: Lease) -> AsyncIterator[Event]:
            return self.upstream.chat(
                account,
                job.prompt,
                lease.mode,
                show_reasoning=job.show_reasoning,
                attachments=attachments,
            )

        return stream_with_account(
            self.pool, job.spec, work, visible=_visible, max_retries=self.max_retries
        )


def _visible(event: Event) -> bool:
    return isinstance(event, TextDelta | ReasoningDelta)
