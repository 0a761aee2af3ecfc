"""Anthropic Messages request → conversation, files, tools and the chat job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from grokgate.api.anthropic.schemas import CountTokensRequest, MessagesRequest
from grokgate.api.anthropic.translate import conversation, parse_request, to_job, to_prompt
from grokgate.core.attachments import FileInput
from grokgate.core.chat import ChatJob
from grokgate.core.conversation import FILES_ONLY_TEXT
from grokgate.core.messages import Message, ToolCall
from grokgate.core.registry import resolve
from grokgate.core.tools.spec import Choice
from grokgate.errors import InvalidRequestError, ModelNotFoundError


def _to_job(body: MessagesRequest, **options: Any) -> Any:
    """The route's two steps: resolve the model, then translate."""
    return to_job(body, resolve(body.model), **options)


MODEL = "grok-4.20-fast"
PNG = "iVBORw0KGgo="
WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def request(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 100, "messages": messages, **extra}


def job(messages: list[dict[str, Any]], **extra: Any) -> ChatJob:
    return _to_job(parse_request(MessagesRequest, request(messages, **extra)), show_reasoning=True)


def messages(wire: list[dict[str, Any]], **extra: Any) -> list[Message]:
    return conversation(parse_request(MessagesRequest, request(wire, **extra)))


def error(body: dict[str, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        _to_job(parse_request(MessagesRequest, body), show_reasoning=True)
    return info.value


def user(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def test_text_string_and_blocks_with_system() -> None:
    out = job(
        [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": [{"type": "text", "text": "three"}]},
        ],
        system=[{"type": "text", "text": "S1"}, {"type": "text", "text": "S2"}],
    )
    assert out.prompt == (
        "[system]: S1\n\n[system]: S2\n\n[user]: one\n\n[assistant]: two\n\n[user]: three"
    )
    assert out.max_output_tokens == 100 and out.tools is None and out.files == ()
    assert (
        job([{"role": "user", "content": "hi"}], system="sys").prompt
        == "[system]: sys\n\n[user]: hi"
    )


def test_images_base64_and_url() -> None:
    (msg,) = messages(
        user(
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
            {"type": "text", "text": "what is this?"},
        )
    )
    assert msg.files == [
        FileInput(
            f"data:image/png;base64,{PNG}",
            "image",
            mime="image/png",
            param="messages[0].content[0].source",
        ),
        FileInput("https://example.com/a.jpg", "image", param="messages[0].content[1].source"),
    ]
    assert msg.texts == ["what is this?"]


def test_image_only_message_gets_a_prompt_text() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    out = job(user(image))
    assert out.prompt == f"[user]: {FILES_ONLY_TEXT}" and len(out.files) == 1


def test_documents() -> None:
    (msg,) = messages(
        user(
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
                "title": "report.pdf",
            },
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "plain body"},
                "title": "Notes",
                "context": "from the meeting",
            },
            {"type": "document", "source": {"type": "url", "url": "https://example.com/x.pdf"}},
            {
                "type": "document",
                "source": {"type": "content", "content": [{"type": "text", "text": "inner"}]},
            },
        )
    )
    pdf, url = msg.files
    assert (pdf.source, pdf.kind, pdf.name, pdf.mime) == (
        "data:application/pdf;base64,JVBERi0=",
        "file",
        "report.pdf",
        "application/pdf",
    )
    assert (url.source, url.kind) == ("https://example.com/x.pdf", "file")
    assert msg.texts == [
        "Document: report.pdf",
        "Document: Notes\nContext: from the meeting\nplain body",
        "inner",
    ]


def test_tool_use_and_results_become_calls_and_tool_messages() -> None:
    out = messages(
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xx"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "thanks"},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "boom"}],
                        "is_error": True,
                    },
                ],
            },
        ]
    )
    assert [m.role for m in out] == ["user", "assistant", "tool", "tool", "user"]
    assistant = out[1]
    assert assistant.texts == ["Let me check."]
    assert assistant.tool_calls == [ToolCall("toolu_1", "w", json.dumps({"city": "Paris"}))]
    assert (out[2].tool_call_id, out[2].texts) == ("toolu_1", ["18C"])
    assert (out[3].tool_call_id, out[3].texts) == ("toolu_2", ["Error: boom"])
    assert out[4].texts == ["thanks"]


def test_tool_result_only_turn_and_image_in_result() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    out = messages(
        user({"type": "tool_result", "tool_use_id": "t", "content": [image]}),
    )
    (tool,) = out
    assert tool.role == "tool" and len(tool.files) == 1
    assert tool.files[0].param == "messages[0].content[0].content[0].source"


def test_tools_and_tool_choice() -> None:
    search = {"type": "web_search_20250305", "name": "web_search"}
    out = job(user({"type": "text", "text": "x"}), tools=[WEATHER, search])
    assert out.tools is not None
    (spec,) = out.tools.tools
    assert (spec.name, spec.description) == ("get_weather", "Weather of a city")
    assert spec.parameters == WEATHER["input_schema"]
    assert out.tools.choice.kind is Choice.AUTO
    assert out.prompt.startswith("[system]: ") and "get_weather" in out.prompt
    custom = {**WEATHER, "type": "custom"}
    for wire, kind, name in [
        ({"type": "auto"}, Choice.AUTO, None),
        ({"type": "any", "disable_parallel_tool_use": True}, Choice.REQUIRED, None),
        ({"type": "tool", "name": "get_weather"}, Choice.NAMED, "get_weather"),
        ({"type": "none"}, Choice.NONE, None),
    ]:
        tools = job(user({"type": "text", "text": "x"}), tools=[custom], tool_choice=wire).tools
        assert tools is not None and (tools.choice.kind, tools.choice.name) == (kind, name)


def test_only_server_tools_means_no_toolset() -> None:
    search = {"type": "web_search_20250305", "name": "web_search"}
    assert job(user({"type": "text", "text": "x"}), tools=[search]).tools is None


@pytest.mark.parametrize(
    ("thinking", "shown"),
    [
        (None, False),
        ({"type": "disabled"}, False),
        ({"type": "enabled", "budget_tokens": 1024}, True),
        ({"type": "enabled", "budget_tokens": 1024, "display": "omitted"}, False),
        ({"type": "adaptive"}, True),
    ],
)
def test_thinking_config(thinking: dict[str, Any] | None, shown: bool) -> None:
    extra = {"thinking": thinking} if thinking else {}
    body = parse_request(MessagesRequest, request([{"role": "user", "content": "x"}], **extra))
    assert _to_job(body, show_reasoning=True).show_reasoning is shown
    assert _to_job(body, show_reasoning=False).show_reasoning is False  # the gateway setting


X = [{"role": "user", "content": "x"}]
C0 = "messages[0].content[0]"


def asst(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": list(blocks)}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL, "messages": X}, "max_tokens"),
        (request(X, max_tokens=0), "max_tokens"),
        (request([]), "messages"),
        (request([{"role": "system", "content": "x"}]), "messages[0].role"),
        (request(user({"type": "video"})), C0),
        (request(user({"text": "no type"})), C0),
        (request(user({"type": "image", "source": {"type": "url"}})), f"{C0}.source.url"),
        (
            request(user({"type": "image", "source": {"type": "url", "url": "ftp://x"}})),
            f"{C0}.source.url",
        ),
        (request(user({"type": "tool_use", "id": "t", "name": "n"})), f"{C0}.type"),
        (request(asst({"type": "tool_result", "tool_use_id": "t"})), f"{C0}.type"),
        (request(asst({"type": "image", "source": {"type": "url", "url": "x"}})), f"{C0}.type"),
        (request(X, thinking={"type": "enabled"}), "thinking.budget_tokens"),
        (request(X, tools=[{"type": "bash_20250124", "name": "bash"}]), "tools[0].type"),
        (request(X, tools=[{"name": "f"}]), "tools[0].input_schema"),
        (request(X, tools=[{**WEATHER, "name": "bad name"}]), "tools[0].name"),
        (request(X, tools=[WEATHER], tool_choice={"type": "tool"}), "tool_choice.name"),
        (request(X, tools=[WEATHER], tool_choice={"type": "tool", "name": "x"}), "tool_choice"),
        (request(X, tool_choice={"type": "any"}), "tool_choice"),
        (request(X, tool_choice={"type": "sometimes"}), "tool_choice.type"),
        (request(X, system=[{"type": "text"}]), "system[0].text"),
    ],
)
def test_invalid_requests_name_the_parameter(body: dict[str, Any], param: str) -> None:
    err = error(body)
    assert err.param == param, err.message
    assert err.status == 400


def test_unknown_fields_are_accepted_and_body_must_be_an_object() -> None:
    body = request([{"role": "user", "content": "x", "cache_control": {"type": "ephemeral"}}])
    body["brand_new_option"] = {"anything": True}
    assert job(body["messages"], brand_new_option=1).prompt == "[user]: x"
    with pytest.raises(InvalidRequestError):
        parse_request(MessagesRequest, ["not", "an", "object"])


def test_unknown_model_is_404() -> None:
    with pytest.raises(ModelNotFoundError):
        _to_job(
            parse_request(
                MessagesRequest,
                {**request([{"role": "user", "content": "x"}]), "model": "claude-x"},
            ),
            show_reasoning=True,
        )


def test_count_tokens_prompt_is_the_job_prompt() -> None:
    wire = request([{"role": "user", "content": "x"}], system="s", tools=[WEATHER])
    counted = to_prompt(
        parse_request(CountTokensRequest, {k: v for k, v in wire.items() if k != "max_tokens"})
    )
    assert counted == _to_job(parse_request(MessagesRequest, wire), show_reasoning=True).prompt
