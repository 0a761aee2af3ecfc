"""ChatService with files, tools and an output limit: what reaches the upstream, and when."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from grokgate.core.attachments import Attachment, FileInput
from grokgate.core.chat import ChatJob, ChatService
from grokgate.errors import InvalidRequestError
from grokgate.events import Finish, Served, TextDelta
from tests.core.chat_support import SPEC, Harness, collect


@pytest.fixture
def h(chat_harness: Harness) -> Harness:
    return chat_harness


class Resolver:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[list[FileInput]] = []

    async def resolve(self, inputs: Sequence[FileInput]) -> list[Attachment]:
        self.seen.append(list(inputs))
        if self.fail:
            raise InvalidRequestError("bad image", param=inputs[0].param)
        return [Attachment(f"f{i}.png", "image/png", b"\x89PNG") for i, _ in enumerate(inputs)]


IMAGE = FileInput("data:image/png;base64,iVBORw0KGgo=", param="messages[0].content[1]")


async def test_files_are_resolved_once_and_reach_the_upstream(h: Harness) -> None:
    await h.add(1)
    resolver = Resolver()
    service = ChatService(h.pool, h.upstream, files=resolver)
    events = await collect(service, ChatJob(SPEC, "[user]: look", files=(IMAGE,)))
    assert isinstance(events[0], Served)
    assert resolver.seen == [[IMAGE]]
    assert h.upstream.attachments == [[Attachment("f0.png", "image/png", b"\x89PNG")]]


async def test_a_bad_file_fails_before_any_account_is_leased(h: Harness) -> None:
    await h.add(1)
    service = ChatService(h.pool, h.upstream, files=Resolver(fail=True))
    with pytest.raises(InvalidRequestError) as info:
        await collect(service, ChatJob(SPEC, "[user]: look", files=(IMAGE,)))
    assert info.value.param == "messages[0].content[1]"
    assert h.pool.leased == [] and h.upstream.calls == []


async def test_files_without_a_resolver_are_refused(h: Harness) -> None:
    await h.add(1)
    with pytest.raises(InvalidRequestError):
        await collect(h.service(), ChatJob(SPEC, "[user]: look", files=(IMAGE,)))
    assert h.pool.leased == []


async def test_the_output_limit_cuts_and_gives_the_slot_back(h: Harness) -> None:
    [a] = await h.add(1)
    h.script(a, "served", TextDelta("one two three four five"), TextDelta(" six"), Finish())
    events = await collect(h.service(), ChatJob(SPEC, "[user]: hi", max_output_tokens=2))
    assert events[1:] == [TextDelta("one two"), Finish(reason="length")]
    await h.assert_idle()
