"""The tool sieve, case by case: what is released, held, parsed or degraded to text."""

from __future__ import annotations

import pytest

from grokgate.core.tools.sieve import ToolSieve
from grokgate.core.tools.spec import Choice, ToolChoice, ToolSet
from grokgate.events import TextDelta, ToolCall
from tests.core.tools.sieve_support import NAMED_SEARCH, SEARCH, TOOLS, WEATHER, Run, block

PARIS = block([("get_weather", {"city": "Paris"})])


def test_plain_text_is_released_at_once() -> None:
    sieve = ToolSieve(TOOLS)
    assert sieve.feed("Hello, ") == [TextDelta("Hello, ")]
    assert sieve.feed("world.") == [TextDelta("world.")]
    assert sieve.finish() == []
    assert not sieve.called


@pytest.mark.parametrize("tail", ["<", "<t", "<to", "<tool_ca", "<tool_calls", "`", "``", "```"])
def test_a_possible_block_start_is_held(tail: str) -> None:
    sieve = ToolSieve(TOOLS)
    assert sieve.feed("a " + tail) == [TextDelta("a ")]
    assert sieve.finish() == [TextDelta(tail)]


@pytest.mark.parametrize("tail", ["```xml", "```xml\n", "```\n  ", "```json\n<tool_c"])
def test_a_fence_that_may_precede_a_block_is_held(tail: str) -> None:
    sieve = ToolSieve(TOOLS)
    assert sieve.feed("see:\n" + tail) == [TextDelta("see:\n")]
    assert sieve.finish() == [TextDelta(tail)]


def test_held_text_is_released_once_disambiguated() -> None:
    sieve = ToolSieve(TOOLS)
    assert sieve.feed("if a <to") == [TextDelta("if a ")]
    assert sieve.feed("p") == [TextDelta("<top")]
    assert sieve.feed(" and x<") == [TextDelta(" and x")]
    assert sieve.feed("y") == [TextDelta("<y")]


def test_code_fences_that_are_not_tool_calls_pass() -> None:
    sieve = ToolSieve(TOOLS)
    assert sieve.feed("```python\n") == []
    assert sieve.feed("print(1)\n```") == [TextDelta("```python\nprint(1)\n")]
    assert sieve.feed("\nDone.") == [TextDelta("```\nDone.")]


def test_a_tool_call_answer_becomes_calls() -> None:
    run = Run([PARIS])
    assert run.calls == [("get_weather", {"city": "Paris"})]
    assert run.text == ""
    assert run.sieve.called
    call = run.items[0]
    assert isinstance(call, ToolCall) and call.id.startswith("call_")


def test_text_before_the_block_is_released_and_after_it_dropped() -> None:
    run = Run(["Let me check that.\n", PARIS, "\nAnything else?"])
    assert run.batches[0] == [TextDelta("Let me check that.\n")]
    assert run.text == "Let me check that.\n"
    assert run.calls == [("get_weather", {"city": "Paris"})]


def test_a_fenced_block_leaks_no_fence() -> None:
    answer = "Calling it.\n```xml\n" + PARIS + "\n```\n"
    for size in (1, 2, 5, len(answer)):
        run = Run([answer[i : i + size] for i in range(0, len(answer), size)])
        assert run.text == "Calling it.\n"
        assert run.calls == [("get_weather", {"city": "Paris"})]


def test_nothing_is_released_while_the_block_is_open() -> None:
    sieve = ToolSieve(TOOLS)
    half = len(PARIS) // 2
    assert sieve.feed(PARIS[:half]) == []
    assert sieve.feed(PARIS[half:-3]) == []
    out = sieve.feed(PARIS[-3:])
    assert len(out) == 1 and isinstance(out[0], ToolCall)


def test_several_calls_in_one_block() -> None:
    answer = block([("search", {"q": "a"}), ("get_weather", {"city": "Rome"})], compact=True)
    assert Run([answer]).calls == [("search", {"q": "a"}), ("get_weather", {"city": "Rome"})]


@pytest.mark.parametrize(
    "bad",
    [
        block([("unknown", {})]),
        PARIS.replace('{"city":"Paris"}', "{not json"),
        PARIS.replace("<tool_name>", "<name>").replace("</tool_name>", "</name>"),
        "<tool_calls></tool_calls>",
    ],
)
def test_a_malformed_block_degrades_to_text(bad: str) -> None:
    run = Run(["Before ", bad, " after"])
    assert run.text == "Before " + bad + " after"
    assert run.calls == []
    assert not run.sieve.called


def test_an_unclosed_block_is_text_at_the_end() -> None:
    run = Run(["ok ", PARIS[:-5]])
    assert run.batches[1] == []
    assert run.batches[-1] == [TextDelta(PARIS[:-5])]


def test_prose_mentioning_the_tag_is_not_held() -> None:
    sieve = ToolSieve(TOOLS)
    assert sieve.feed("Use ```<tool_calls>") == [TextDelta("Use ")]
    assert sieve.feed(" to call") == [TextDelta("```<tool_calls> to call")]


def test_a_valid_block_after_a_malformed_one_is_parsed() -> None:
    run = Run([block([("nope", {})]), "\n", PARIS])
    assert run.text == block([("nope", {})]) + "\n"
    assert run.calls == [("get_weather", {"city": "Paris"})]


def test_blocks_after_a_valid_one_are_ignored() -> None:
    sieve = ToolSieve(TOOLS)
    out = sieve.feed(PARIS + "\n" + block([("search", {})]))
    assert [type(i) for i in out] == [ToolCall]
    assert sieve.feed("more text") == []
    assert sieve.finish() == []


def test_a_named_choice_allows_only_that_tool() -> None:
    assert Run([PARIS], NAMED_SEARCH).text == PARIS
    assert Run([block([("search", {})])], NAMED_SEARCH).calls == [("search", {})]


def test_no_call_is_accepted_when_tool_choice_is_none() -> None:
    tools = ToolSet((WEATHER, SEARCH), ToolChoice(Choice.NONE))
    assert Run([PARIS], tools).text == PARIS


def test_closing_tag_inside_a_json_string_degrades_to_text() -> None:
    # Known limit: the sieve ends the block at the first </tool_calls>; never a wrong call.
    answer = block([("search", {"q": "</tool_calls>"})])
    run = Run([answer])
    assert run.calls == [] and run.text == answer


def test_calls_are_returned_with_the_text_before_them_in_one_feed() -> None:
    out = ToolSieve(TOOLS).feed("a\n" + PARIS)
    assert out[0] == TextDelta("a\n") and isinstance(out[1], ToolCall)
