"""The official openai SDK's Responses API against a live gateway in front of the simulator."""

from __future__ import annotations

import hashlib

import httpx
import openai
import pytest
from openai.types.responses import Response

from grokgate.simulator.answers import SEARCH_URLS, rendered_text
from tests.sdk import openai_aclient as aclient
from tests.sdk import openai_client as client
from tests.support import ALL_TOKENS, API_KEY, Sim


@pytest.fixture(params=["plain", "cloudflare"])
def grok_front(request: pytest.FixtureRequest) -> str:
    """Each test here also runs over HTTPS through the Cloudflare-like edge."""
    return str(request.param)


REASONING = "grok-4.20-0309"  # mode auto: the simulator thinks
FAST = "grok-4.20-0309-non-reasoning"


def echo(flattened: str, user_text: str) -> str:
    return f"Echo: {user_text} [sha:{hashlib.sha256(flattened.encode()).hexdigest()[:10]}]"


def reasoning_text(out: Response) -> str | None:
    items = [i for i in out.output if i.type == "reasoning"]
    if not items:
        return None
    return "".join(s.text for i in items for s in i.summary)  # type: ignore[union-attr]


def test_create_non_stream(gateway: str, sim: Sim) -> None:
    out = client(gateway).responses.create(model=REASONING, input="Hello there")
    assert out.object == "response" and out.id.startswith("resp_")
    assert out.status == "completed" and out.error is None and out.incomplete_details is None
    assert out.model == REASONING
    assert out.output_text == echo("[user]: Hello there", "Hello there")
    assert reasoning_text(out) == "Thinking about 11 characters."
    assert [i.type for i in out.output] == ["reasoning", "message"]
    message = out.output[1]
    assert message.type == "message" and message.id.startswith("msg_")
    assert message.status == "completed" and message.role == "assistant"
    assert out.output[0].id.startswith("rs_")
    usage = out.usage
    assert usage is not None and usage.input_tokens > 4
    assert usage.output_tokens_details.reasoning_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert out.model_extra is not None and out.model_extra["store"] is True  # stored by default
    assert sim.state.chat_requests()[-1].body["message"] == "[user]: Hello there"
    assert sim.state.chat_requests()[-1].body["modeId"] == "auto"


def test_instructions_are_a_leading_system_message(gateway: str, sim: Sim) -> None:
    out = client(gateway).responses.create(
        model=FAST, instructions="Be brief.", input="hi", store=True, metadata={"k": "v"}
    )
    flattened = "[system]: Be brief.\n\n[user]: hi"
    assert sim.state.chat_requests()[-1].body["message"] == flattened
    assert out.output_text == echo(flattened, "hi")
    assert out.instructions == "Be brief." and out.metadata == {"k": "v"}
    assert out.model_extra is not None and out.model_extra["store"] is True
    assert reasoning_text(out) is None  # the fast mode does not think


def test_message_items_and_history(gateway: str, sim: Sim) -> None:
    out = client(gateway).responses.create(
        model=FAST,
        input=[
            {"role": "developer", "content": "Answer in one line."},
            {"role": "user", "content": "first question"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "first answer", "annotations": []}],
            },
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
        ],
    )
    flattened = (
        "[system]: Answer in one line.\n\n[user]: first question\n\n"
        "[assistant]: first answer\n\n[user]: second"
    )
    assert sim.state.chat_requests()[-1].body["message"] == flattened
    assert out.output_text == echo(flattened, "second")


def test_effort_none_hides_reasoning(gateway: str) -> None:
    out = client(gateway).responses.create(
        model=REASONING, input="quiet please", reasoning={"effort": "none"}
    )
    assert reasoning_text(out) is None
    assert [i.type for i in out.output] == ["message"]
    assert out.reasoning is not None and out.reasoning.effort == "none"


def test_stream_with_create(gateway: str) -> None:
    stream = client(gateway).responses.create(model=REASONING, input="stream me", stream=True)
    events = list(stream)
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    thought = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert text == echo("[user]: stream me", "stream me")
    assert thought == "Thinking about 9 characters."
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == text and final.usage is not None
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1


def test_stream_helper_and_final_response(gateway: str) -> None:
    with client(gateway).responses.stream(model=REASONING, input="helper") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == echo("[user]: helper", "helper")
    assert reasoning_text(final) == "Thinking about 6 characters."
    assert final.status == "completed"


def test_search_answer_has_a_url_citation(gateway: str) -> None:
    text = "please search the news"
    out = client(gateway).responses.create(model=FAST, input=text)
    assert out.output_text == rendered_text(f"[user]: {text}")
    part = out.output[-1].content[0]  # type: ignore[union-attr]
    [citation] = part.annotations
    assert citation.type == "url_citation" and citation.url == SEARCH_URLS[0]
    assert citation.title == "Grok simulator result one"
    link = f"[[1]]({SEARCH_URLS[0]})"
    assert out.output_text[citation.start_index : citation.end_index] == link
    streamed = list(client(gateway).responses.create(model=FAST, input=text, stream=True))
    added = [e for e in streamed if e.type == "response.output_text.annotation.added"]
    assert len(added) == 1 and added[0].annotation.to_dict() == citation.to_dict()  # type: ignore[union-attr]


def test_small_max_output_tokens_is_incomplete(gateway: str) -> None:
    c = client(gateway)
    out = c.responses.create(model=FAST, input="a long answer please", max_output_tokens=2)
    assert out.status == "incomplete"
    assert out.incomplete_details is not None
    assert out.incomplete_details.reason == "max_output_tokens"
    assert out.output_text and len(out.output_text) < len("Echo: a long answer please")
    assert out.max_output_tokens == 2
    events = list(
        c.responses.create(
            model=FAST, input="a long answer please", max_output_tokens=2, stream=True
        )
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.status == "incomplete"  # type: ignore[union-attr]


async def test_async_client(gateway: str) -> None:
    c = aclient(gateway)
    out = await c.responses.create(model=FAST, input="async")
    assert out.output_text == echo("[user]: async", "async")
    async with c.responses.stream(model=FAST, input="async stream") as stream:
        final = await stream.get_final_response()
    assert final.output_text == echo("[user]: async stream", "async stream")
    await c.close()


def test_an_unknown_previous_response_id_is_a_clear_400(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).responses.create(model=FAST, input="hi", previous_response_id="resp_1")
    body = info.value.body
    assert isinstance(body, dict) and body["param"] == "previous_response_id"
    assert info.value.code == "previous_response_not_found"
    assert body["message"] == "Previous response with id 'resp_1' not found."


def test_unsupported_tool_type_is_400_with_param(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).responses.create(
            model=FAST,
            input="hi",
            tools=[{"type": "web_search"}, {"type": "file_search", "vector_store_ids": ["v"]}],
        )
    assert info.value.body["param"] == "tools[1].type"  # type: ignore[index]


def test_unknown_model_is_404(gateway: str) -> None:
    with pytest.raises(openai.NotFoundError):
        client(gateway).responses.create(model="gpt-9-imaginary", input="hi")


def test_retrieve_of_an_unknown_id_is_404(gateway: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client(gateway).responses.retrieve("resp_123")
    assert info.value.body["message"] == "Response with id 'resp_123' not found."  # type: ignore[index]


def test_upstream_failure_before_the_stream_is_an_http_error(gateway: str, sim: Sim) -> None:
    for token in ALL_TOKENS:
        sim.state.inject(token, "500", times=-1)
    with pytest.raises(openai.InternalServerError) as info:
        client(gateway).responses.create(model=FAST, input="hi", stream=True)
    assert info.value.status_code == 502


def test_error_after_the_stream_began_raises_in_the_sdk(gateway: str, sim: Sim) -> None:
    for token in ALL_TOKENS:
        sim.state.inject(token, "cut", times=-1, after=5)
    stream = client(gateway).responses.create(model=FAST, input="a b c d e f g", stream=True)
    seen: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for event in stream:
            seen.append(event.type)
    assert "response.output_text.delta" in seen
    assert seen[-1] == "response.failed"
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "server_error"
    helper = client(gateway).responses.stream(model=FAST, input="a b c d e f g")
    with pytest.raises(openai.APIError), helper as stream:  # the helper raises too
        stream.get_final_response()


def test_raw_sse_lines_name_each_event(gateway: str) -> None:
    with httpx.stream(
        "POST",
        f"{gateway}/v1/responses",
        json={"model": FAST, "input": "raw", "stream": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=20,
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line and not line.startswith(":")]
    names = [line[len("event: ") :] for line in lines if line.startswith("event: ")]
    datas = [line for line in lines if line.startswith("data: ")]
    assert len(names) == len(datas) and names[0] == "response.created"
    assert all(f'"type":"{n}"' in d for n, d in zip(names, datas, strict=True))
