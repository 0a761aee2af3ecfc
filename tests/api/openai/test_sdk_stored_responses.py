"""Stored Responses with the official openai SDK against a live gateway (SQLite store):
``previous_response_id``, ``item_reference``, retrieve / input_items / delete, streams stored
when they complete, ``store: false``, TTL expiry on an injected clock."""

from __future__ import annotations

import base64
import os
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from grokgate.api.app import create_app
from grokgate.runtime import Runtime
from grokgate.simulator.server import ServerThread
from grokgate.simulator.uploads import tiny_png
from grokgate.stores.conversations_sqlite import SqliteConversationStore
from tests.conftest import gateway_settings
from tests.sdk import openai_client as client
from tests.support import FakeClock, GatewayFactory, Sim

FAST = "grok-4.20-0309-non-reasoning"  # no reasoning item: output is one message
REASONING = "grok-4.20-0309"


def sent(sim: Sim) -> str:
    """The flattened conversation the simulator received last."""
    return str(sim.state.chat_requests()[-1].body["message"])


def test_previous_response_id_over_three_turns(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    r1 = c.responses.create(model=FAST, input="My name is Ada.")
    assert r1.model_extra is not None and r1.model_extra["store"] is True
    assert r1.previous_response_id is None
    r2 = c.responses.create(model=FAST, input="What is my name?", previous_response_id=r1.id)
    assert sent(sim) == (
        f"[user]: My name is Ada.\n\n[assistant]: {r1.output_text}\n\n[user]: What is my name?"
    )
    assert r2.previous_response_id == r1.id
    r3 = c.responses.create(
        model=FAST, input="Say it again.", previous_response_id=r2.id, instructions="Be brief."
    )
    assert sent(sim) == (
        "[system]: Be brief.\n\n"
        f"[user]: My name is Ada.\n\n[assistant]: {r1.output_text}\n\n"
        f"[user]: What is my name?\n\n[assistant]: {r2.output_text}\n\n[user]: Say it again."
    )
    assert r3.status == "completed" and r3.output_text
    # Ids name the response that holds them.
    hex_ = r3.id.removeprefix("resp_")
    assert r3.output[0].id == f"msg_{hex_}_1"


def test_reasoning_and_tool_call_ids_derive_from_the_response(gateway: str) -> None:
    out = client(gateway).responses.create(model=REASONING, input="Hello there")
    hex_ = out.id.removeprefix("resp_")
    assert [i.id for i in out.output] == [f"rs_{hex_}_1", f"msg_{hex_}_2"]


def test_item_reference_turn(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    r1 = c.responses.create(model=REASONING, input="one")
    reasoning, message = r1.output
    c.responses.create(
        model=FAST,
        input=[
            {"role": "user", "content": "one"},
            {"type": "item_reference", "id": reasoning.id},
            {"type": "item_reference", "id": message.id},
            {"role": "user", "content": "two"},
        ],
    )
    assert sent(sim) == f"[user]: one\n\n[assistant]: {r1.output_text}\n\n[user]: two"
    # An input item of a stored response can be referenced too (here: r1's "one").
    items = list(c.responses.input_items.list(r1.id))
    c.responses.create(
        model=FAST, input=[{"type": "item_reference", "id": items[0].id}], store=False
    )
    assert sent(sim) == "[user]: one"
    with pytest.raises(openai.NotFoundError) as caught:
        c.responses.create(
            model=FAST, input=[{"type": "item_reference", "id": "msg_" + "0" * 32 + "_1"}]
        )
    assert caught.value.body["param"] == "input"  # type: ignore[index]
    assert "not found" in caught.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        c.responses.create(model=FAST, input=[{"type": "item_reference", "id": "msg_foreign"}])


def test_retrieve_input_items_paged_and_delete(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    history = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "q3"},
    ]
    out = c.responses.create(model=FAST, input=history, metadata={"k": "v"})  # type: ignore[arg-type]
    got = c.responses.retrieve(out.id)
    assert got.model_dump() == out.model_dump()

    first = c.responses.input_items.list(out.id, limit=2)
    assert len(first.data) == 2 and first.has_more is True
    every = list(c.responses.input_items.list(out.id, limit=2))  # SDK auto-pagination
    assert len(every) == 5
    texts = [i.content[0].text for i in every]  # type: ignore[union-attr]
    assert texts == ["q3", "a2", "q2", "a1", "q1"]  # newest first by default
    ascending = list(c.responses.input_items.list(out.id, limit=2, order="asc"))
    assert [i.id for i in ascending] == [i.id for i in reversed(every)]
    assert len({i.id for i in every}) == 5

    deleted = c.responses.with_raw_response.delete(out.id)
    assert deleted.http_response.json() == {
        "id": out.id,
        "object": "response.deleted",
        "deleted": True,
    }
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(out.id)
    with pytest.raises(openai.NotFoundError):
        c.responses.delete(out.id)
    with pytest.raises(openai.NotFoundError):
        c.responses.input_items.list(out.id)
    with pytest.raises(openai.BadRequestError) as caught:
        c.responses.create(model=FAST, input="again", previous_response_id=out.id)
    assert caught.value.code == "previous_response_not_found"
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_a_stream_is_stored_when_it_completes(gateway: str, sim: Sim) -> None:
    c = client(gateway)
    events = list(c.responses.create(model=REASONING, input="stream me", stream=True))
    created, final = events[0], events[-1]
    assert created.type == "response.created" and created.response.status == "in_progress"
    assert final.type == "response.completed"
    stored = c.responses.retrieve(final.response.id)
    assert stored.status == "completed"
    assert stored.output_text == final.response.output_text
    c.responses.create(model=FAST, input="next", previous_response_id=stored.id)
    assert sent(sim) == f"[user]: stream me\n\n[assistant]: {stored.output_text}\n\n[user]: next"


def test_store_false_writes_nothing(gateway: str, make_gateway: object) -> None:
    c = client(gateway)
    out = c.responses.create(model=FAST, input="forget me", store=False)
    assert out.model_extra is not None and out.model_extra["store"] is False
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(out.id)
    with pytest.raises(openai.BadRequestError):
        c.responses.create(model=FAST, input="again", previous_response_id=out.id)


def test_previous_response_and_conversation_are_exclusive(gateway: str) -> None:
    c = client(gateway)
    r1 = c.responses.create(model=FAST, input="one")
    conv = c.conversations.create()
    with pytest.raises(openai.BadRequestError):
        c.responses.create(
            model=FAST, input="two", previous_response_id=r1.id, conversation=conv.id
        )


@pytest.fixture
def clocked_gateway(sim: Sim, tmp_path: Path) -> Iterator[tuple[str, FakeClock]]:
    clock = FakeClock()
    settings = gateway_settings(sim.url, tmp_path / "gw", responses_ttl_seconds=3600)
    runtime = Runtime(settings)
    Runtime.conversation_store.put(
        runtime, SqliteConversationStore(tmp_path / "conv.db", clock=clock)
    )
    server = ServerThread(create_app(settings=settings, runtime=runtime))
    yield server.start(), clock
    server.stop()


def test_stored_responses_expire_after_the_ttl(
    clocked_gateway: tuple[str, FakeClock], sim: Sim
) -> None:
    url, clock = clocked_gateway
    c = client(url)
    out = c.responses.create(model=FAST, input="short-lived")
    conv = c.conversations.create(items=[{"role": "user", "content": "hi"}])
    clock.advance(3599)
    assert c.responses.retrieve(out.id).id == out.id
    assert c.conversations.retrieve(conv.id).id == conv.id
    clock.advance(2)
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(out.id)
    with pytest.raises(openai.BadRequestError):
        c.responses.create(model=FAST, input="x", previous_response_id=out.id)
    with pytest.raises(openai.NotFoundError):
        c.conversations.retrieve(conv.id)


def test_a_big_attachment_is_shelved_and_replayed(make_gateway: GatewayFactory, sim: Sim) -> None:
    """An image over 64 KiB of base64 is kept in the media store, not in the record, and the
    next turn sends the very same bytes to grok.com again."""
    gw = make_gateway()
    picture = tiny_png() + os.urandom(60_000)  # trailing bytes: still a PNG by its signature
    uri = "data:image/png;base64," + base64.b64encode(picture).decode()
    c = client(gw.url)
    first = c.responses.create(
        model=FAST,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this picture?"},
                    {"type": "input_image", "image_url": uri},
                ],
            }
        ],
    )
    db = sqlite3.connect(gw.settings.data_dir / "grokgate.db")
    (packed,) = db.execute("SELECT body FROM conversations WHERE id = ?", (first.id,)).fetchone()
    db.close()
    assert len(zlib.decompress(packed)) < 20_000  # the picture is not in the record
    shelved = list((gw.settings.data_dir / "media" / "stored").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == picture for p in shelved)

    before = len(sim.state.uploads)
    c.responses.create(model=FAST, input="And again?", previous_response_id=first.id)
    uploads = list(sim.state.uploads.values())[before:]
    assert [u.data for u in uploads] == [picture]  # replayed: the same bytes, uploaded again
