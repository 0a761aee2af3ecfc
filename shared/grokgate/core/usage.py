"""Token estimates (docs/grok-protocol.md §11): grok.com reports no usage, so it is counted here.

tiktoken's ``o200k_base`` is used. Its rank file normally comes from the network on first use;
grokgate ships the same file (``data/o200k_base.tiktoken.gz``, checked by tiktoken against its
own expected sha256) and seeds tiktoken's cache from it, so counting works offline and in
Lambda. The encoder is built lazily, once per process (:func:`warm_up` can do it early).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
_lock = threading.Lock()
_encoding: tiktoken.Encoding | None = None


def _seed_cache() -> None:
    if os.environ.get("TIKTOKEN_CACHE_DIR") == "":
        # An empty value turns tiktoken's cache off, so it would download the ranks: give it a
        # private cache instead, seeded below from the vendored file.
        os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "grokgate-tiktoken")
    cache_dir = Path(
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or Path(tempfile.gettempdir()) / "data-gym-cache"
    )
    target = cache_dir / hashlib.sha1(_O200K_URL.encode()).hexdigest()
    if target.exists():
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    data = gzip.decompress(
        resources.files("grokgate.data").joinpath("o200k_base.tiktoken.gz").read_bytes()
    )
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def _get_encoding() -> tiktoken.Encoding:
    global _encoding
    if _encoding is None:
        with _lock:
            if _encoding is None:
                import tiktoken

                _seed_cache()
                _encoding = tiktoken.get_encoding("o200k_base")
    return _encoding


def warm_up() -> None:
    """Build the encoder now (e.g. in a background thread at start-up)."""
    _get_encoding()


OFF_LOOP_CHARS = 32 * 1024  # longer texts are counted in a worker thread by :func:`counted`


class CountedText(str):
    """A text whose token count is known already (:func:`counted`)."""

    tokens: int


async def counted(text: str) -> str:
    """``text``, its tokens counted in a worker thread when it is long (a long conversation
    takes tiktoken ~60 ms per MB, too long to block the event loop): a later
    :func:`count_tokens` of the result is free."""
    if len(text) < OFF_LOOP_CHARS:
        return text
    import anyio.to_thread

    return await anyio.to_thread.run_sync(_counted, text)


def _counted(text: str) -> CountedText:
    result = CountedText(text)  # a copy of the text: not on the loop either
    result.tokens = count_tokens(text)
    return result


COUNT_CHUNK_CHARS = 64 * 1024


def _pieces(text: str) -> list[str]:
    """``text`` cut into pieces of about :data:`COUNT_CHUNK_CHARS`, each cut just after a line
    break followed by a non-space character, where tiktoken's pre-tokenizer always splits, so
    the pieces' counts add up to the whole's. A long text without such a place stays whole."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > COUNT_CHUNK_CHARS:
        cut = start + COUNT_CHUNK_CHARS
        while cut < len(text) and not (text[cut - 1] == "\n" and not text[cut].isspace()):
            cut = text.find("\n", cut) + 1 or len(text)
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def count_tokens(text: str) -> int:
    """tiktoken's count of ``text``. A long text is counted piece by piece: encoding returns a
    list of every token, and building a list of millions of ints holds the GIL (a 15 MB
    conversation stalled the event loop ~65 ms from a worker thread); pieces hold it briefly."""
    if not text:
        return 0
    if isinstance(text, CountedText):
        return text.tokens
    encoding = _get_encoding()
    return sum(len(encoding.encode(piece, disallowed_special=())) for piece in _pieces(text))


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate_usage(prompt: str, answer: str, reasoning: str) -> Usage:
    """``prompt + 4`` for the prompt; answer plus reasoning for the completion (§11)."""
    reasoning_tokens = count_tokens(reasoning)
    return Usage(
        prompt_tokens=count_tokens(prompt) + 4,
        completion_tokens=count_tokens(answer) + reasoning_tokens,
        reasoning_tokens=reasoning_tokens,
    )


def truncate_tokens(text: str, limit: int) -> str:
    """The first ``limit`` tokens of ``text`` (as :func:`count_tokens` counts them)."""
    if limit <= 0 or not text:
        return ""
    encoding = _get_encoding()
    tokens = encoding.encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    return encoding.decode(tokens[:limit])
