"""``maybe_surrogate`` searches a body 1 MiB at a time: a surrogate spelled across a chunk
boundary, at either end, or nowhere is judged exactly as one search of the whole body."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.api.json_text import MAYBE_SURROGATE, maybe_surrogate

STEP = 1 << 20
SPELLINGS = [b"\\ud800", b"\\uDFFF", b"\xed\xa0\x80", b"\x00"]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(SPELLINGS),
    st.integers(min_value=-8, max_value=8),
    st.sampled_from([1, 2]),
)
def test_a_spelling_at_any_chunk_boundary_is_found(spelling: bytes, shift: int, k: int) -> None:
    at = k * STEP + shift
    raw = b"a" * at + spelling + b"b" * 64
    assert maybe_surrogate(raw) is True


def test_clean_bodies_and_near_misses() -> None:
    clean = b'{"x": "' + b"\\u00e9 caf\xc3\xa9 " * 300_000 + b'"}'
    assert len(clean) > 2 * STEP
    assert maybe_surrogate(clean) is (MAYBE_SURROGATE.search(clean) is not None) is False
    assert maybe_surrogate(b"") is False
