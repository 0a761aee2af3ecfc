"""flatten(): the whole history rendered into grok.com's single message
(docs/grok-protocol.md §3.3)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.core.messages import Message, ToolCall, flatten, without_sources_trailer
from grokgate.errors import InvalidRequestError

# The XML-shape tests use argument-less calls, so that they check the layout only; the
# serialisation of the parameters has its own tests.
XML_ONE_CALL = (
    "<tool_calls>\n"
    "  <tool_call>\n"
    "    <tool_name>get_weather</tool_name>\n"
    "    <parameters>{}</parameters>\n"
    "  </tool_call>\n"
    "</tool_calls>"
)


def user(*texts: str) -> Message:
    return Message("user", list(texts))


def assistant(*texts: str, calls: list[ToolCall] | None = None) -> Message:
    return Message("assistant", list(texts), tool_calls=calls or [])


def weather_call(arguments: str = "{ }") -> ToolCall:
    return ToolCall(id="call_1", name="get_weather", arguments=arguments)


def assert_bad_messages(messages: list[Message], tool_prompt: str | None = None) -> None:
    with pytest.raises(InvalidRequestError) as info:
        flatten(messages, tool_prompt)
    assert info.value.status == 400
    assert info.value.param == "messages"


# --- plain text --------------------------------------------------------------------------


def test_single_user_message() -> None:
    assert flatten([user("hello")]) == "[user]: hello"


def test_parts_are_joined_by_a_blank_line_in_order() -> None:
    messages = [
        Message("system", ["be brief"]),
        user("hi"),
        assistant("hello!"),
        user("bye"),
    ]
    assert (
        flatten(messages)
        == "[system]: be brief\n\n[user]: hi\n\n[assistant]: hello!\n\n[user]: bye"
    )


def test_list_content_gives_one_part_per_text_block() -> None:
    assert flatten([user("look at this", "and this")]) == "[user]: look at this\n\n[user]: and this"


def test_blank_text_blocks_are_skipped() -> None:
    assert flatten([user("a", "   ", "b")]) == "[user]: a\n\n[user]: b"


def test_assistant_list_content_gives_one_part_per_text_block() -> None:
    # §3.3 step 5: every text block of list content becomes its own "[<role>]: <text>" part.
    assert flatten([assistant("first", "second")]) == "[assistant]: first\n\n[assistant]: second"


def test_files_do_not_appear_in_the_text() -> None:
    message = Message("user", ["what is this?"], files=["https://example.com/cat.png"])
    assert flatten([message]) == "[user]: what is this?"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1).filter(lambda t: t.strip()), min_size=1, max_size=5))
def test_user_texts_flatten_to_labelled_parts(texts: list[str]) -> None:
    assert flatten([Message("user", texts)]) == "\n\n".join(f"[user]: {t}" for t in texts)


# --- tools -------------------------------------------------------------------------------


def test_tool_result_with_call_id() -> None:
    message = Message("tool", ['{"temp": 21}'], tool_call_id="call_1")
    assert flatten([message]) == '[tool result for call_1]:\n{"temp": 21}'


def test_tool_result_without_call_id() -> None:
    assert flatten([Message("tool", ["42"])]) == "[tool result]:\n42"


def test_assistant_tool_calls_are_rendered_as_xml_exactly() -> None:
    assert flatten([assistant(calls=[weather_call()])]) == "[assistant]:\n" + XML_ONE_CALL


def test_tool_call_parameters_are_reserialised_as_compact_json() -> None:
    call = weather_call('{\n  "city" : "Paris",\n  "unit": "c"\n}')
    assert '<parameters>{"city":"Paris","unit":"c"}</parameters>' in flatten(
        [assistant(calls=[call])]
    )


def test_tool_call_parameters_keep_non_ascii_characters() -> None:
    out = flatten([assistant(calls=[weather_call('{"city":"Zürich"}')])])
    assert "Zürich" in out
    assert "\\u00fc" not in out


def test_non_json_arguments_are_kept_verbatim() -> None:
    out = flatten([assistant(calls=[weather_call("city=Paris, {broken")])])
    assert "    <parameters>city=Paris, {broken</parameters>\n" in out


def test_empty_arguments_become_an_empty_object() -> None:
    out = flatten([assistant(calls=[weather_call("")])])
    assert "<parameters>{}</parameters>" in out


def test_several_tool_calls_share_one_tool_calls_block() -> None:
    calls = [weather_call(), ToolCall("call_2", "get_time", "[]")]
    out = flatten([assistant(calls=calls)])
    assert out == (
        "[assistant]:\n<tool_calls>\n"
        "  <tool_call>\n    <tool_name>get_weather</tool_name>\n"
        "    <parameters>{}</parameters>\n  </tool_call>\n"
        "  <tool_call>\n    <tool_name>get_time</tool_name>\n"
        "    <parameters>[]</parameters>\n  </tool_call>\n"
        "</tool_calls>"
    )


def test_assistant_text_is_prefixed_to_the_tool_calls() -> None:
    out = flatten([assistant("Let me check.", calls=[weather_call()])])
    assert out == "[assistant]: Let me check.\n" + XML_ONE_CALL


def test_tool_round_trip_conversation() -> None:
    messages = [
        user("weather in Paris?"),
        assistant(calls=[weather_call()]),
        Message("tool", ["sunny"], tool_call_id="call_1"),
    ]
    assert flatten(messages) == (
        "[user]: weather in Paris?\n\n[assistant]:\n"
        + XML_ONE_CALL
        + "\n\n[tool result for call_1]:\nsunny"
    )


def test_tool_prompt_is_prepended_as_a_system_part() -> None:
    assert flatten([user("hi")], tool_prompt="TOOLS") == "[system]: TOOLS\n\n[user]: hi"


def test_no_tool_prompt_means_no_system_part() -> None:
    assert flatten([user("hi")], tool_prompt=None) == "[user]: hi"
    assert flatten([user("hi")], tool_prompt="") == "[user]: hi"


# --- the sources trailer -----------------------------------------------------------------


def test_sources_trailer_is_stripped_from_assistant_text() -> None:
    text = (
        "Paris is sunny.\n\n## Sources\n[grokgate-sources]: #\n"
        "- [Weather](https://example.com/w)\n- [Other](https://example.com/o)\n"
    )
    assert flatten([assistant(text), user("thanks")]) == (
        "[assistant]: Paris is sunny.\n\n[user]: thanks"
    )


def test_a_sources_heading_without_the_marker_is_kept() -> None:
    text = "Answer.\n\n## Sources\n- a list the model wrote"
    assert flatten([assistant(text)]) == f"[assistant]: {text}"


def test_assistant_text_is_trimmed() -> None:
    assert flatten([assistant("  hi there \n")]) == "[assistant]: hi there"


def test_assistant_turn_with_only_a_trailer_is_dropped() -> None:
    trailer = "## Sources\n[grokgate-sources]: #\n- [x](https://example.com)"
    assert flatten([user("q"), assistant(trailer), user("again")]) == "[user]: q\n\n[user]: again"


def test_trailer_is_not_stripped_from_user_text() -> None:
    text = "quote:\n## Sources\n[grokgate-sources]: #x"
    assert flatten([user(text)]) == f"[user]: {text}"


# --- errors --------------------------------------------------------------------------------


def test_empty_message_list_is_a_400() -> None:
    assert_bad_messages([])


@pytest.mark.parametrize(
    "messages",
    [
        [Message("user", ["   "])],
        [Message("user", ["\n\t "])],
        [Message("user", [])],
        [Message("system", [" "]), Message("user", [""])],
        [Message("assistant", ["  "])],
        [Message("assistant", ["## Sources\n[grokgate-sources]: #"])],
    ],
    ids=["spaces", "newlines", "no-blocks", "system-and-user", "assistant", "trailer-only"],
)
def test_whitespace_only_content_is_a_400(messages: list[Message]) -> None:
    assert_bad_messages(messages)


def test_tool_prompt_does_not_rescue_an_empty_conversation() -> None:
    assert_bad_messages([Message("user", [" "])], tool_prompt="TOOLS")


@pytest.mark.parametrize("role", ["developer", "function", "bot", "", "User"])
def test_unknown_role_is_a_400(role: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        flatten([user("hi"), Message(role, ["x"])])
    assert info.value.status == 400
    assert info.value.param == "messages"
    assert repr(role) in info.value.message


_OLD_TRAILER = re.compile(r"\n*## Sources\n\[grokgate-sources\]: #.*\Z", re.DOTALL)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\n", " ", "a", "## Sources", "\n[grokgate-sources]: #", "x\n"]),
        max_size=12,
    ).map("".join)
)
def test_the_trailer_is_cut_where_the_anchored_pattern_cuts(text: str) -> None:
    assert without_sources_trailer(text) == _OLD_TRAILER.sub("", text)


def test_a_long_run_of_newlines_is_linear() -> None:
    # the pattern above tries `\n*` from every newline of a run: quadratic, and it holds the GIL
    # (a 1 MB run of newlines in one assistant message froze the server for minutes); run in a
    # child process so a regression fails on the timeout instead of hanging the suite
    code = (
        "from grokgate.core.messages import flatten, Message\n"
        "print(len(flatten([Message('assistant', ['\\n' * 4_000_000 + 'x'])])))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == str(len("[assistant]: x")), done.stderr
