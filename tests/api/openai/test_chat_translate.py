"""Chat Completions request → ChatJob: tools, tool_choice, image and file parts, limits."""

from __future__ import annotations

from typing import Any

import pytest

from grokgate.api.openai.schemas import ChatCompletionRequest
from grokgate.api.openai.translate import to_job
from grokgate.core.chat import ChatJob
from grokgate.core.registry import resolve
from grokgate.core.tools.spec import Choice
from grokgate.errors import InvalidRequestError


def _to_job(body: ChatCompletionRequest, **options: Any) -> Any:
    """The route's two steps: resolve the model, then translate."""
    return to_job(body, resolve(body.model), **options)


MODEL = "grok-4.20-0309"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def job(**body: Any) -> ChatJob:
    body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return _to_job(ChatCompletionRequest.model_validate(body), show_reasoning=True)


def bad(param: str | None, **body: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        job(**body)
    assert info.value.param == param
    return info.value


def test_plain_request_has_no_tools_files_or_limit() -> None:
    j = job()
    assert j.tools is None and j.files == () and j.max_output_tokens is None
    assert j.prompt == "[user]: hi"


def test_tools_become_a_toolset_and_the_prompt_block() -> None:
    j = job(tools=[WEATHER])
    assert j.tools is not None
    assert [t.name for t in j.tools.tools] == ["get_weather"]
    assert j.tools.tools[0].parameters["properties"]["city"] == {"type": "string"}
    assert j.tools.choice.kind is Choice.AUTO
    assert j.prompt.startswith("[system]: ")
    assert "Tool: get_weather" in j.prompt and j.prompt.endswith("[user]: hi")


@pytest.mark.parametrize(
    ("choice", "kind", "name"),
    [
        ("auto", Choice.AUTO, None),
        ("none", Choice.NONE, None),
        ("required", Choice.REQUIRED, None),
        ({"type": "function", "function": {"name": "get_weather"}}, Choice.NAMED, "get_weather"),
    ],
)
def test_tool_choice(choice: Any, kind: Choice, name: str | None) -> None:
    j = job(tools=[WEATHER], tool_choice=choice)
    assert j.tools is not None
    assert (j.tools.choice.kind, j.tools.choice.name) == (kind, name)
    assert j.tools.calls_allowed is (kind is not Choice.NONE)


def test_bad_tools_and_choices_are_400s_with_params() -> None:
    bad("tools[0].type", tools=[{"type": "custom", "custom": {"name": "x"}}])
    bad("tools[0].function.name", tools=[{"type": "function", "function": {}}])
    bad("tool_choice", tools=[WEATHER], tool_choice="sometimes")
    bad("tool_choice", tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "x"}})
    bad("tool_choice", tool_choice="required")  # no tools to require
    bad("tools", tools=[WEATHER, WEATHER])


def test_legacy_functions_are_tools_too() -> None:
    j = job(functions=[WEATHER["function"]], function_call={"name": "get_weather"})
    assert j.tools is not None and j.tools.choice.name == "get_weather"


def test_tool_history_is_rendered_back() -> None:
    j = job(
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    assert '<parameters>{"city":"Paris"}</parameters>' in j.prompt
    assert j.prompt.endswith("[tool result for call_1]:\nsunny")


def test_image_and_file_parts_become_file_inputs() -> None:
    j = job(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "doc.pdf"}},
                ],
            }
        ]
    )
    image, doc = j.files
    assert (image.source, image.kind, image.param) == (
        "https://example.com/a.png",
        "image",
        "messages[0].content[1].image_url",
    )
    assert doc.kind == "file" and doc.name == "doc.pdf"
    assert doc.source == "data:application/octet-stream;base64,JVBERi0="
    assert j.prompt == "[user]: what is this?"


def test_an_image_alone_still_gets_text() -> None:
    j = job(
        messages=[
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}
        ]
    )
    assert len(j.files) == 1 and j.prompt.startswith("[user]: ")


def test_unsupported_parts_are_400s() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    bad("messages[0].content[0]", messages=[{"role": "user", "content": [audio]}])
    file_id = {"type": "file", "file": {"file_id": "file-abc"}}
    bad("messages[0].content[0].file.file_id", messages=[{"role": "user", "content": [file_id]}])
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    bad("messages[0].content[0]", messages=[{"role": "assistant", "content": [image]}])


def test_too_many_files_is_a_400() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    bad("messages", messages=[{"role": "user", "content": [image] * 11}])


def test_output_limits() -> None:
    assert job(max_tokens=5).max_output_tokens == 5
    assert job(max_completion_tokens=7, max_tokens=5).max_output_tokens == 7
    bad("max_tokens", max_tokens=0)
