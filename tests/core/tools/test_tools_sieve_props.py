"""Property tests of the tool sieve: any chunking gives the same result, and nothing leaks."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.tools.sieve_support import Run, block, split

_CUTS = st.lists(st.integers(0, 400), max_size=12)
_JSON_LEAF = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_CALLS = st.lists(
    st.tuples(
        st.sampled_from(["get_weather", "search"]),
        st.dictionaries(st.text(max_size=6), _JSON, max_size=3),
    ),
    min_size=1,
    max_size=3,
)
# Plain text in front of a block: may contain "<" and ">", never a tag of the format or a fence.
_PREFIX = st.text(
    alphabet=st.sampled_from(list("ab <>/\n\tétoolcalsparme_.,!")), max_size=30
).filter(lambda s: not any(tag in s for tag in ("<tool", "</tool", "<param")))
_FENCES = st.sampled_from(
    [("", ""), ("```xml\n", "\n```"), ("```\n", "\n```\n"), ("```xml\n\n", "\n```"), ("\n", "")]
)
_LEAKS = ("<tool", "</tool", "<parameters", "```")


@settings(max_examples=120, deadline=None)
@given(_PREFIX, _CALLS, st.booleans(), _FENCES, st.sampled_from(["", "\n", "  \n"]), _CUTS)
def test_any_split_of_a_tool_call_answer_gives_the_same_calls(
    prefix: str,
    calls: list[tuple[str, dict[str, object]]],
    compact: bool,
    fence: tuple[str, str],
    trailer: str,
    cuts: list[int],
) -> None:
    answer = prefix + fence[0] + block(calls, compact=compact) + fence[1] + trailer
    run = Run(split(answer, cuts))
    assert run.calls == [(name, args) for name, args in calls]
    assert run.text == prefix + ("" if fence[0].startswith("```") else fence[0])
    assert not any(leak in run.text for leak in _LEAKS)
    assert run.sieve.called


_NO_LT_NO_TICK = st.text(st.characters(blacklist_characters="<`", blacklist_categories=["Cs"]))


@settings(max_examples=100, deadline=None)
@given(_NO_LT_NO_TICK, _CUTS)
def test_text_without_lt_or_backtick_is_never_held(text: str, cuts: list[int]) -> None:
    run = Run(split(text, cuts))
    fed = ""
    released = ""
    for chunk, batch in zip(split(text, cuts), run.batches, strict=False):
        fed += chunk
        released += "".join(item.text for item in batch)  # type: ignore[union-attr]
        assert released == fed
    assert run.text == text and run.calls == []


_HELD_FENCE = re.compile(r"`{1,2}|```[A-Za-z0-9_+-]*\s*")
_MAY_CONTINUE_A_FENCE = re.compile(r"[`A-Za-z0-9_+\-\s]")


_TICK_TEXT = st.text(st.sampled_from(list("`ab x_-+\n\t.,é")), max_size=40) | st.lists(
    st.sampled_from(["`", "``", "```", "xml", "\n", " ", "hi", ".", "```js\n", "é", "```python\n"]),
    max_size=15,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(_TICK_TEXT, _CUTS)
def test_text_without_lt_passes_and_only_a_fence_start_is_held(text: str, cuts: list[int]) -> None:
    chunks = split(text, cuts)
    run = Run(chunks)
    assert run.text == text and run.calls == []
    fed = released = ""
    for chunk, batch in zip(chunks, run.batches, strict=False):
        fed += chunk
        released += "".join(item.text for item in batch)  # type: ignore[union-attr]
        held = fed[len(released) :]
        assert fed.startswith(released)
        assert held == "" or _HELD_FENCE.fullmatch(held), (fed, released)
        if not _MAY_CONTINUE_A_FENCE.fullmatch(fed[-1]):
            assert held == ""


_FRAGMENTS = st.sampled_from(
    [
        "<",
        ">",
        "/",
        "<tool_calls>",
        "</tool_calls>",
        "<tool_call>",
        "</tool_call>",
        "<tool_name>",
        "</tool_name>",
        "get_weather",
        "search",
        "<parameters>",
        "</parameters>",
        "<parameters/>",
        "{}",
        '{"city": "x"}',
        "{",
        "<![CDATA[",
        "]]>",
        "```",
        "```xml\n",
        "`",
        "\n",
        " ",
        "text",
        "<tool_",
        "<tool_calls",
    ]
)
_ANY_TEXT = st.lists(_FRAGMENTS | st.text(max_size=4), max_size=25).map("".join) | st.text()


@settings(max_examples=250, deadline=None)
@given(_ANY_TEXT, _CUTS)
def test_arbitrary_text_never_raises_and_is_accounted_for(text: str, cuts: list[int]) -> None:
    run = Run(split(text, cuts))
    whole = Run([text])
    assert (run.text, run.calls) == (whole.text, whole.calls)  # the chunking never matters
    if not run.calls:
        assert run.text == text
    else:  # text up to the block's fence was released; the block and what follows were not
        assert text.startswith(run.text)
        rest = text[len(run.text) :]
        assert re.match(r"(?:```[A-Za-z0-9_+-]*\s*)?<tool_calls>", rest)
