"""The ``<tool_calls>`` format: parsing answers, and round trips with the history renderer."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.core.tools.xml import parse_calls, render_calls
from grokgate.events import ToolCall

NAMES = frozenset({"get_weather", "search", "ns.tool:v-1"})
ID_RE = re.compile(r"^call_[0-9a-f]{24}$")


def _block(*calls: str) -> str:
    return "<tool_calls>" + "".join(calls) + "</tool_calls>"


def _call(name: str, params: str) -> str:
    return f"<tool_call><tool_name>{name}</tool_name><parameters>{params}</parameters></tool_call>"


def _pairs(calls: list[ToolCall] | None) -> list[tuple[str, str]]:
    assert calls is not None
    return [(c.name, c.arguments) for c in calls]


def test_compact_block_parses() -> None:
    calls = parse_calls(_block(_call("get_weather", '{"city": "Paris"}')), NAMES)
    assert _pairs(calls) == [("get_weather", '{"city":"Paris"}')]


def test_ids_are_fresh_and_neutral() -> None:
    block = _block(_call("search", "{}"), _call("search", "{}"))
    calls = parse_calls(block, NAMES)
    assert calls is not None and len(calls) == 2
    assert all(ID_RE.match(c.id) for c in calls)
    assert calls[0].id != calls[1].id


def test_whitespace_indentation_and_newlines_are_tolerated() -> None:
    block = (
        "  <tool_calls>\r\n\t<tool_call>\n      <tool_name>  search </tool_name>\n\n"
        '      <parameters>\n  {"q": "a b",\n "n": 2}\n  </parameters>\n  </tool_call>\n'
        "</tool_calls>\n"
    )
    assert _pairs(parse_calls(block, NAMES)) == [("search", '{"q":"a b","n":2}')]


def test_cdata_and_child_order() -> None:
    block = _block(
        '<tool_call><parameters> <![CDATA[{"html": "<b>x</b> & y"}]]> </parameters>'
        "<tool_name><![CDATA[search]]></tool_name></tool_call>"
    )
    assert _pairs(parse_calls(block, NAMES)) == [("search", '{"html":"<b>x</b> & y"}')]


@pytest.mark.parametrize(
    "params", ["<parameters></parameters>", "<parameters>  \n </parameters>", "<parameters/>", ""]
)
def test_empty_or_missing_parameters_are_an_empty_object(params: str) -> None:
    block = f"<tool_calls><tool_call><tool_name>search</tool_name>{params}</tool_call></tool_calls>"
    assert _pairs(parse_calls(block, NAMES)) == [("search", "{}")]


def test_unicode_is_kept_and_xml_entities_are_a_fallback() -> None:
    calls = parse_calls(_block(_call("search", '{"q": "caf\\u00e9 東京"}')), NAMES)
    assert _pairs(calls) == [("search", '{"q":"café 東京"}')]
    escaped = _block(_call("search", "{&quot;q&quot;: &quot;a &lt; b&quot;}"))
    assert _pairs(parse_calls(escaped, NAMES)) == [("search", '{"q":"a < b"}')]
    raw_amp = _block(_call("search", '{"q": "&amp;"}'))  # valid JSON as it is: kept literally
    assert _pairs(parse_calls(raw_amp, NAMES)) == [("search", '{"q":"&amp;"}')]


def test_closing_tags_inside_json_strings() -> None:
    block = _block(_call("search", '{"q": "</parameters></tool_call>"}'))
    assert _pairs(parse_calls(block, NAMES)) == [("search", '{"q":"</parameters></tool_call>"}')]


def test_several_calls_keep_their_order() -> None:
    block = _block(_call("search", '{"q":1}'), _call("get_weather", "{}"), _call("search", "{}"))
    assert [n for n, _ in _pairs(parse_calls(block, NAMES))] == ["search", "get_weather", "search"]


@pytest.mark.parametrize(
    "block",
    [
        "",
        "<tool_calls></tool_calls>",
        "<tool_calls>\n</tool_calls>",
        "<tool_calls>" + _call("search", "{}"),  # not closed
        _block(_call("search", "{}")).replace("</tool_call>", ""),
        _block(_call("unknown", "{}")),
        _block(_call("", "{}")),
        _block(_call("search", "{not json")),
        _block(_call("search", "[1, 2]")),
        _block(_call("search", '"text"')),
        _block(_call("search", '{"a": NaN}')),
        _block(_call("search", "{}") + "some text"),
        "text " + _block(_call("search", "{}")),
        _block(_call("search", "{}")) + " trailing",
        _block("<tool_call><tool_name>search</tool_name><id>1</id></tool_call>"),
        _block("<tool_call><tool_name>search</tool_name><tool_name>search</tool_name></tool_call>"),
        _block("<tool_call><tool_name>search</tool_name><parameters>{}</parameters>"),
        _block("<tool_call><parameters>{}</parameters></tool_call>"),
        _block("<x/>" + _call("search", "{}")),
        _block("<tool_call><tool_name>search</tool_name><parameters><![CDATA[{}</parameters>"),
        _block(_call("search", "[" * 5000 + "]" * 5000)),
        "<TOOL_CALLS>" + _call("search", "{}") + "</TOOL_CALLS>",
    ],
)
def test_malformed_blocks_give_none(block: str) -> None:
    assert parse_calls(block, NAMES) is None


def test_names_are_checked_against_the_allowed_set() -> None:
    block = _block(_call("search", "{}"), _call("get_weather", "{}"))
    assert parse_calls(block, frozenset({"search"})) is None
    assert parse_calls(block, frozenset()) is None


def test_render_calls_format_is_unchanged() -> None:
    text = render_calls([ToolCall("call_1", "search", '{"q": "x"}')])
    assert text == (
        "<tool_calls>\n  <tool_call>\n    <tool_name>search</tool_name>\n"
        '    <parameters>{"q":"x"}</parameters>\n  </tool_call>\n</tool_calls>'
    )


_JSON_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_ARGS = st.dictionaries(st.text(max_size=8), _JSON, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(NAMES)), _ARGS), min_size=1, max_size=4))
def test_render_then_parse_round_trips(calls: list[tuple[str, dict[str, object]]]) -> None:
    originals = [ToolCall(f"c{i}", name, json.dumps(args)) for i, (name, args) in enumerate(calls)]
    parsed = parse_calls(render_calls(originals), NAMES)
    assert parsed is not None
    assert [(c.name, json.loads(c.arguments)) for c in parsed] == [(n, a) for n, a in calls]
    assert all(
        c.arguments == json.dumps(a, ensure_ascii=False, separators=(",", ":"))
        for c, (_, a) in zip(parsed, calls, strict=True)
    )


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('<>/ {}"tool_calsnmepr[]CDATA!x\n')), max_size=80))
def test_parse_never_raises(text: str) -> None:
    result = parse_calls(text, NAMES)
    assert result is None or all(c.name in NAMES for c in result)
