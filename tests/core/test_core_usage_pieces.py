"""Long texts are counted piece by piece: the sum is tiktoken's count of the whole, and a
15 MB conversation no longer holds the GIL for tens of milliseconds at a time (building one
list of millions of tokens did, stalling the event loop from a worker thread)."""

from __future__ import annotations

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from grokgate.core import usage
from grokgate.core.usage import count_tokens

LINE = st.text(
    alphabet=st.sampled_from(list("ab cé字 \t\n\r.,!?'0123456789")), min_size=0, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=300), st.integers(min_value=16, max_value=200))
def test_pieces_add_up_to_the_whole(lines: list[str], chunk: int) -> None:
    text = "\n".join(lines)
    whole = len(usage._get_encoding().encode(text, disallowed_special=()))
    original = usage.COUNT_CHUNK_CHARS
    usage.COUNT_CHUNK_CHARS = chunk  # small pieces: many cuts in a short text
    try:
        assert "".join(usage._pieces(text)) == text
        assert count_tokens(text) == whole
    finally:
        usage.COUNT_CHUNK_CHARS = original


def test_counting_a_long_conversation_lets_other_threads_run() -> None:
    words = " ".join(f"w{i} lorem ipsum dolor" for i in range(400))[:8192]
    text = "\n\n".join(f"[user]: {i} {words}" for i in range(1900))  # ~15 MB
    count_tokens("warm up")
    worst, stop = [0.0], threading.Event()

    def probe() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            time.sleep(0.001)
            worst[0] = max(worst[0], time.perf_counter() - start)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    time.sleep(0.05)
    worst[0] = 0.0
    count_tokens(text)
    stop.set()
    thread.join()
    print(
        f"\n[usage] longest wait of another thread while counting 15 MB: {worst[0] * 1000:.1f} ms"
    )
    assert worst[0] < 0.03  # measured ~4 ms; one encode of the whole held the GIL ~65 ms
