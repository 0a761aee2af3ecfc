"""OpenAI's Conversations API and ``conversation`` on ``/v1/responses``, with the official openai
SDK against a live gateway; and the owner rule: another API key gets the same 404s."""

from __future__ import annotations

import openai
import pytest

from tests.sdk import openai_client as client
from tests.support import API_KEY, GatewayFactory, Sim

FAST = "grok-4.20-0309-non-reasoning"
OTHER_KEY = "sk-test-other-fedcba9876543210"


def sent(sim: Sim) -> str:
    return str(sim.state.chat_requests()[-1].body["message"])


def test_a_conversation_extended_by_two_responses(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    conv = c.conversations.create(
        items=[{"type": "message", "role": "user", "content": "Remember: blue."}],
        metadata={"topic": "colours"},
    )
    assert conv.object == "conversation" and conv.id.startswith("conv_")
    assert conv.metadata == {"topic": "colours"}

    r1 = c.responses.create(model=FAST, conversation=conv.id, input="What colour?")
    assert sent(sim) == "[user]: Remember: blue.\n\n[user]: What colour?"
    assert r1.conversation is not None and r1.conversation.id == conv.id
    r2 = c.responses.create(model=FAST, conversation={"id": conv.id}, input="Again?")
    assert sent(sim) == (
        f"[user]: Remember: blue.\n\n[user]: What colour?\n\n[assistant]: {r1.output_text}"
        "\n\n[user]: Again?"
    )

    items = list(c.conversations.items.list(conv.id, order="asc", limit=2))
    assert [(i.type, getattr(i, "role", None)) for i in items] == [
        ("message", "user"),
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[2].id == r1.output[0].id and items[4].id == r2.output[0].id
    newest = c.conversations.items.list(conv.id, limit=1)
    assert newest.data[0].id == r2.output[0].id and newest.has_more is True

    one = c.conversations.items.retrieve(items[0].id, conversation_id=conv.id)
    assert one.type == "message" and one.content[0].text == "Remember: blue."  # type: ignore[union-attr]
    added = c.conversations.items.create(
        conv.id, items=[{"type": "message", "role": "user", "content": "p.s."}]
    )
    assert added.object == "list" and len(added.data) == 1
    assert added.data[0].id.endswith("_c1")  # the second item added straight to the conversation
    after = c.conversations.items.delete(added.data[0].id, conversation_id=conv.id)
    assert after.id == conv.id
    assert len(list(c.conversations.items.list(conv.id))) == 5

    updated = c.conversations.update(conv.id, metadata={"topic": "paint"})
    assert updated.metadata == {"topic": "paint"}
    assert c.conversations.retrieve(conv.id).metadata == {"topic": "paint"}
    deleted = c.conversations.delete(conv.id)
    assert deleted.deleted is True and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError):
        c.conversations.retrieve(conv.id)
    with pytest.raises(openai.NotFoundError):
        c.responses.create(model=FAST, conversation=conv.id, input="gone?")


def test_bad_conversation_input_is_a_400(gateway: str) -> None:
    c = client(gateway)
    with pytest.raises(openai.BadRequestError) as caught:
        c.conversations.create(items=[{"type": "nonsense"}])  # type: ignore[list-item]
    assert caught.value.body["param"] == "items[0].type"  # type: ignore[index]
    conv = c.conversations.create()
    with pytest.raises(openai.NotFoundError):
        c.conversations.items.retrieve("msg_nope", conversation_id=conv.id)


def test_another_api_key_sees_404_everywhere(make_gateway: GatewayFactory) -> None:
    url = make_gateway(api_keys=f"{API_KEY},{OTHER_KEY}").url
    mine, theirs = client(url), client(url, OTHER_KEY)
    out = mine.responses.create(model=FAST, input="mine")
    conv = mine.conversations.create(items=[{"role": "user", "content": "mine"}])
    item = mine.conversations.items.list(conv.id).data[0]

    calls = [
        lambda: theirs.responses.retrieve(out.id),
        lambda: theirs.responses.delete(out.id),
        lambda: theirs.responses.input_items.list(out.id),
        lambda: theirs.responses.create(
            model=FAST, input=[{"type": "item_reference", "id": out.output[0].id}]
        ),
        lambda: theirs.responses.create(model=FAST, input="x", conversation=conv.id),
        lambda: theirs.conversations.retrieve(conv.id),
        lambda: theirs.conversations.update(conv.id, metadata={}),
        lambda: theirs.conversations.delete(conv.id),
        lambda: theirs.conversations.items.list(conv.id),
        lambda: theirs.conversations.items.retrieve(item.id, conversation_id=conv.id),
        lambda: theirs.conversations.items.delete(item.id, conversation_id=conv.id),
        lambda: theirs.conversations.items.create(
            conv.id, items=[{"role": "user", "content": "x"}]
        ),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError):
            call()
    with pytest.raises(openai.BadRequestError) as caught:  # OpenAI answers this one with 400
        theirs.responses.create(model=FAST, input="x", previous_response_id=out.id)
    assert caught.value.code == "previous_response_not_found"
    # ... and nothing of the owner's changed.
    assert mine.responses.retrieve(out.id).id == out.id
    assert len(list(mine.conversations.items.list(conv.id))) == 1
