"""Responses request → ChatJob: every input item kind, content parts, state, errors with params."""

from __future__ import annotations

from typing import Any

import pytest

from grokgate.api.openai.responses_schemas import ResponsesRequest
from grokgate.api.openai.responses_translate import ResponsesPlan, to_plan
from grokgate.core.registry import resolve
from grokgate.errors import InvalidRequestError, ModelNotFoundError


def _to_plan(body: ResponsesRequest, **options: Any) -> Any:
    """The route's two steps: resolve the model, then translate."""
    return to_plan(body, resolve(body.model), **options)


MODEL = "grok-4.20-0309"


def plan(*, show_reasoning: bool = True, **body: Any) -> ResponsesPlan:
    body.setdefault("model", MODEL)
    body.setdefault("input", "hi")
    return _to_plan(ResponsesRequest.model_validate(body), show_reasoning=show_reasoning)


def bad(param: str | None, **body: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        plan(**body)
    assert info.value.param == param, info.value.message
    assert info.value.status == 400
    return info.value


def test_string_input_is_one_user_message() -> None:
    p = plan(input="Hello there")
    assert p.job.prompt == "[user]: Hello there"
    assert p.job.spec.id == MODEL and p.job.show_reasoning is True
    assert p.job.tools is None and p.job.files == () and p.job.max_output_tokens is None


def test_instructions_lead_as_a_system_message() -> None:
    p = plan(instructions="Be brief.", input="hi")
    assert p.job.prompt == "[system]: Be brief.\n\n[user]: hi"
    assert p.echo.instructions == "Be brief."


def test_message_items_with_and_without_type() -> None:
    p = plan(
        input=[
            {"role": "system", "content": "sys"},
            {"type": "message", "role": "developer", "content": "dev"},
            {"role": "user", "content": [{"type": "input_text", "text": "q1"}]},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "a1", "annotations": []},
                    {"type": "refusal", "refusal": "no"},
                ],
            },
            {"role": "user", "content": "q2"},
        ]
    )
    assert p.job.prompt == (
        "[system]: sys\n\n[system]: dev\n\n[user]: q1\n\n[assistant]: a1\n\n"
        "[assistant]: no\n\n[user]: q2"
    )


def test_images_become_files() -> None:
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    p = plan(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this"},
                    {"type": "input_image", "image_url": "https://example.com/a.png"},
                    {"type": "input_image", "image_url": data_uri, "detail": "auto"},
                ],
            }
        ]
    )
    assert [(f.kind, f.source) for f in p.job.files] == [
        ("image", "https://example.com/a.png"),
        ("image", data_uri),
    ]
    assert p.job.files[1].param == "input[0].content[2].image_url"


def test_files_become_files() -> None:
    p = plan(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_data": "JVBERi0=", "filename": "a.pdf"},
                    {"type": "input_file", "file_data": "data:text/plain;base64,aGk="},
                    {"type": "input_file", "file_url": "https://example.com/b.txt"},
                ],
            }
        ]
    )
    sources = [(f.kind, f.source, f.name) for f in p.job.files]
    assert sources == [
        ("file", "data:application/pdf;base64,JVBERi0=", "a.pdf"),
        ("file", "data:text/plain;base64,aGk=", None),
        ("file", "https://example.com/b.txt", None),
    ]
    assert "[user]: " in p.job.prompt  # a files-only message still carries text


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "input_image", "file_id": "file-1"}, "input[0].content[1].file_id"),
        ({"type": "input_image"}, "input[0].content[1].image_url"),
        ({"type": "input_image", "image_url": "ftp://x/y.png"}, "input[0].content[1].image_url"),
        ({"type": "input_file", "file_id": "file-1"}, "input[0].content[1].file_id"),
        ({"type": "input_file", "file_url": "file:///etc/passwd"}, "input[0].content[1].file_url"),
        ({"type": "input_file"}, "input[0].content[1]"),
        ({"type": "input_audio", "input_audio": {}}, "input[0].content[1].type"),
        ({"type": "input_text"}, "input[0].content[1].text"),
        ("just a string", "input[0].content[1]"),
    ],
)
def test_bad_content_parts_name_their_param(part: object, param: str) -> None:
    content = [{"type": "input_text", "text": "x"}, part]
    bad(param, input=[{"role": "user", "content": content}])


def test_images_are_refused_in_assistant_messages() -> None:
    image = {"type": "input_image", "image_url": "https://example.com/a.png"}
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": [image]}]
    bad("input[1].content[0]", input=messages)


def test_function_calls_merge_into_one_assistant_turn() -> None:
    p = plan(
        input=[
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"role": "assistant", "content": "Let me check."},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {
                "type": "function_call",
                "id": "fc_2",
                "call_id": "call_2",
                "name": "get_weather",
                "arguments": '{"city":"Rome"}',
                "status": "completed",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {
                "type": "function_call_output",
                "call_id": "call_2",
                "output": [
                    {"type": "input_text", "text": "21C"},
                    {"type": "input_text", "text": "sun"},
                ],
            },
        ]
    )
    parts = p.job.prompt.split("\n\n")
    assert parts[0] == "[user]: weather in Paris and Rome?"
    assert parts[1].startswith("[assistant]: Let me check.\n<tool_calls>")
    assert parts[1].count("<tool_call>") == 2
    assert '<parameters>{"city":"Paris"}</parameters>' in parts[1]
    assert parts[2] == "[tool result for call_1]:\n18C"
    assert parts[3] == "[tool result for call_2]:\n21C\nsun"


def test_function_call_without_text_is_its_own_turn() -> None:
    call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
    p = plan(input=[{"role": "user", "content": "go"}, call])
    assert p.job.prompt.split("\n\n")[1].startswith("[assistant]:\n<tool_calls>")


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "function_call", "name": "f", "arguments": "{}"}, "input[1].call_id"),
        ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input[1].name"),
        ({"type": "function_call_output", "call_id": "c"}, "input[1].output"),
        (
            {
                "type": "function_call_output",
                "call_id": "c",
                "output": [{"type": "input_image", "image_url": "https://e.com/a.png"}],
            },
            "input[1].output[0]",
        ),
        ({"type": "item_reference", "id": "msg_1"}, "input[1]"),
        ({"type": "computer_call_output", "call_id": "c"}, "input[1].type"),
        ({"content": "no role, no type"}, "input[1].type"),
        ({"role": "wizard", "content": "x"}, "input[1].role"),
        ({"role": "user", "content": 42}, "input[1].content"),
        ("a bare string", "input[1]"),
    ],
)
def test_bad_items_name_their_param(item: object, param: str) -> None:
    bad(param, input=[{"role": "user", "content": "q"}, item])


def test_an_unresolved_item_reference_is_a_400() -> None:
    # References are resolved from the store before translation; one left over is refused.
    err = bad("input[0]", input=[{"type": "item_reference", "id": "msg_1"}])
    assert err.code == "unsupported_item"


@pytest.mark.parametrize("value", [None, [], 42, {"role": "user"}])
def test_missing_or_empty_input_is_400(value: object) -> None:
    bad("input", input=value)


def test_input_of_only_reasoning_items_has_no_text() -> None:
    bad("input", input=[{"type": "reasoning", "id": "rs_1", "summary": []}])


@pytest.mark.parametrize(
    ("field", "value"),
    [("background", True), ("prompt", {"id": "pmpt_1"})],
)
def test_fields_that_would_change_what_the_model_sees_are_refused(
    field: str, value: object
) -> None:
    err = bad(field, **{field: value})
    assert err.code == "unsupported_parameter"


def test_state_fields_are_left_to_the_store_and_harmless_fields_pass() -> None:
    # previous_response_id / conversation are resolved before translation (responses_state).
    p = plan(
        store=True,
        service_tier="auto",
        prompt_cache_key="k",
        include=["x"],
        stream=True,
        safety_identifier="s",
        max_tool_calls=3,
        context_management=[{"type": "compaction"}],
    )
    assert p.echo.store is True


def test_reasoning_effort_none_hides_reasoning() -> None:
    assert plan(reasoning={"effort": "none"}).job.show_reasoning is False
    assert plan(reasoning={"effort": "high", "summary": "auto"}).job.show_reasoning is True
    assert plan(reasoning={"effort": "high"}, show_reasoning=False).job.show_reasoning is False
    echoed = plan(reasoning={"effort": "low", "summary": "detailed"}).echo.reasoning
    assert (echoed.effort, echoed.summary) == ("low", "detailed")


def test_max_output_tokens() -> None:
    p = plan(max_output_tokens=16)
    assert p.job.max_output_tokens == 16 and p.echo.max_output_tokens == 16
    assert plan(max_output_tokens=1).job.max_output_tokens == 1
    bad("max_output_tokens", max_output_tokens=0)


def test_echo_defaults_and_values() -> None:
    e = plan().echo
    assert e.tool_choice == "auto" and e.tools == [] and e.parallel_tool_calls is True
    assert e.text == {"format": {"type": "text"}} and e.metadata == {} and e.store is True
    assert e.truncation == "disabled" and e.temperature is None
    schema = {"type": "json_schema", "name": "x", "schema": {"type": "object"}}
    e = plan(
        temperature=0.2,
        top_p=0.9,
        metadata={"k": "v"},
        user="u1",
        truncation="auto",
        parallel_tool_calls=False,
        text={"format": schema},
    ).echo
    assert (e.temperature, e.top_p, e.metadata, e.user) == (0.2, 0.9, {"k": "v"}, "u1")
    assert e.truncation == "auto" and e.parallel_tool_calls is False
    assert e.text == {"format": schema}


def test_unknown_or_missing_model() -> None:
    with pytest.raises(ModelNotFoundError):
        plan(model="gpt-9-imaginary")
    err = bad("model", model=None)
    assert err.code == "missing_model"
