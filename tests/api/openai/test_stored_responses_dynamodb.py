"""Stored Responses on DynamoDB (moto over real HTTP): two gateway instances on one table read
each other's responses and conversations, and a stored turn costs a counted number of calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from grokgate.api.app import create_app
from grokgate.runtime import Runtime
from grokgate.simulator.server import ServerThread
from grokgate.stores.conversations_dynamodb import (
    DynamoConversationStore,
    create_conversations_table,
)
from tests.conftest import gateway_settings
from tests.sdk import openai_client as client
from tests.support import CallCounter, Sim, aws_client

FAST = "grok-4.20-0309-non-reasoning"


@pytest.fixture
def two_gateways(
    sim: Sim, moto_endpoint: str, tmp_path: Path
) -> Iterator[list[tuple[str, CallCounter]]]:
    table = f"grokgate-conv-{tmp_path.name[-12:]}".replace("_", "-")
    create_conversations_table(aws_client("dynamodb", moto_endpoint), table)
    out, servers = [], []
    for n in range(2):
        dynamo = aws_client("dynamodb", moto_endpoint)
        settings = gateway_settings(sim.url, tmp_path / f"gw{n}")
        runtime = Runtime(settings)
        Runtime.conversation_store.put(runtime, DynamoConversationStore(table, dynamo))
        server = ServerThread(create_app(settings=settings, runtime=runtime))
        servers.append(server)
        out.append((server.start(), CallCounter(dynamo)))
    yield out
    for server in servers:
        server.stop()


def test_two_instances_share_stored_responses(
    two_gateways: list[tuple[str, CallCounter]], sim: Sim
) -> None:
    (url_a, calls_a), (url_b, calls_b) = two_gateways
    a, b = client(url_a), client(url_b)
    r1 = a.responses.create(model=FAST, input="Hello from A")
    assert b.responses.retrieve(r1.id).output_text == r1.output_text
    r2 = b.responses.create(model=FAST, input="And from B", previous_response_id=r1.id)
    assert sim.state.chat_requests()[-1].body["message"] == (
        f"[user]: Hello from A\n\n[assistant]: {r1.output_text}\n\n[user]: And from B"
    )
    assert [i.id for i in a.responses.input_items.list(r2.id)] == [f"msg_{r2.id[5:]}_0"]
    conv = a.conversations.create(items=[{"role": "user", "content": "shared"}])
    b.responses.create(model=FAST, conversation=conv.id, input="from B")
    assert len(list(a.conversations.items.list(conv.id))) == 3
    b.responses.delete(r1.id)
    assert calls_a.calls and calls_b.calls


def test_dynamodb_calls_per_stored_turn(
    two_gateways: list[tuple[str, CallCounter]], sim: Sim
) -> None:
    (url, calls), _ = two_gateways
    c = client(url)
    first = c.responses.create(model=FAST, input="first")
    assert calls.take() == Counter({"PutItem": 1})  # write only: nothing to read
    c.responses.create(model=FAST, input="second", previous_response_id=first.id)
    per_turn = calls.take()
    # The figure the README quotes: one read of the previous response, one write of this one.
    assert per_turn == Counter({"Query": 1, "PutItem": 1}), per_turn
    c.responses.create(model=FAST, input="not kept", store=False)
    assert calls.take() == Counter()  # store: false costs nothing
    conv = c.conversations.create()
    calls.take()
    c.responses.create(model=FAST, input="in a conversation", conversation=conv.id)
    in_conversation = calls.take()
    # Read the conversation, write the response, append to the conversation.
    assert in_conversation == Counter({"Query": 1, "PutItem": 2}), in_conversation
