"""The client's output-token limit (``max_tokens``, ``max_output_tokens``).

grok.com takes no length limit (docs/grok-protocol.md §3.1), so grokgate enforces it on the way out:
visible answer text is counted with the same estimator as usage (§11), and once the limit is
reached the text is cut at that token, the answer finishes with reason ``length`` and the
upstream stream is closed. Reasoning and tool calls are not counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from grokgate.core.usage import count_tokens, truncate_tokens
from grokgate.events import Event, Finish, TextDelta


async def limit_output(events: AsyncIterator[Event], max_tokens: int) -> AsyncIterator[Event]:
    used = 0
    async with aclosing(events) as source:  # type: ignore[type-var]
        async for event in source:
            if not isinstance(event, TextDelta):
                yield event
                continue
            tokens = count_tokens(event.text)
            if used + tokens <= max_tokens:
                used += tokens
                yield event
                continue
            head = truncate_tokens(event.text, max_tokens - used)
            if head:
                yield TextDelta(head)
            yield Finish(reason="length")
            return
