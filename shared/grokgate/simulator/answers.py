"""Deterministic answers of the simulator.

For a request ``message`` (the gateway's flattened history) and ``modeId``:

* ``u = last_user_text(message)``: text of the last ``"[user]: "`` part (parts are separated by
  a blank line followed by ``[<role>]:``), or the whole message when there is none.
* ``h = sha256(message.encode()).hexdigest()[:10]``.
* Final text: ``f"Echo: {u} [sha:{h}]"``, streamed as tokens from
  ``re.findall(r"\\S+\\s*|\\s+", text)`` (their concatenation is the text exactly).
* Reasoning (every mode except ``fast``): ``f"Thinking about {len(u)} characters."``, streamed
  as tokens split the same way; the first has ``messageTag`` ``"header"``, the rest
  ``"analysis"``.
* Search (``u`` contains the *word* ``search``, any case, ``re.search(r"\\bsearch\\b", u, re.I)``):
  a ``webSearchResults`` frame with the two :func:`search_results`, a ``cardAttachment`` whose
  ``jsonData`` is ``{"id":CARD,"type":"render_inline_citation","cardType":"citation_card",
  "url":"https://example.com/grok-sim/1"}`` (``CARD = f"sim-cite-{h[:8]}"``), and the final
  tokens become ``["Echo:", RENDER_TAG, *split_tokens(f" {u} [sha:{h}]")]``, so the raw final
  text (``modelResponse.message``) is::

      f'Echo:<grok:render card_id="{CARD}" card_type="citation_card" '
      f'type="render_inline_citation"><argument name="citation_id">0</argument>'
      f'</grok:render> {u} [sha:{h}]'

  A gateway that replaces the tag by `` [[1]](url)`` (docs/grok-protocol.md §4.4) therefore shows::

      f"Echo: [[1]](https://example.com/grok-sim/1) {u} [sha:{h}]"

  which is :func:`rendered_text`.

* Tools (the message carries grokgate's tool block): :func:`.tool_answers.tool_answer` decides;
  when it answers, its text (a ``<tool_calls>`` block, or ``Tool result received: ...``) is the
  final text instead of the echo.

* Files (the chat listed uploaded ``fileAttachments``): the final text ends with
  :func:`files_note`, e.g. `` [files: cat.png (image/png, 68 bytes); notes.txt (text/plain,
  12 bytes)]``, in the order of ``fileAttachments``; ``modelResponse.fileAttachments`` and
  ``userResponse.fileAttachments`` list their ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .tool_answers import tool_answer

__all__ = [
    "SEARCH_URLS",
    "Answer",
    "AttachedFile",
    "answer_frames",
    "build_answer",
    "card_id",
    "conversation_frame",
    "files_note",
    "final_text",
    "last_user_text",
    "message_hash",
    "render_tag",
    "rendered_text",
    "search_results",
    "split_tokens",
    "stream_error_frame",
    "thinking_text",
    "wants_search",
]

SEARCH_URLS: tuple[str, str] = (
    "https://example.com/grok-sim/1",
    "https://example.com/grok-sim/2",
)
_TOKEN_RE = re.compile(r"\S+\s*|\s+")
_PART_SPLIT_RE = re.compile(r"\n\n(?=\[[^\]\n]+\]:)")
_SEARCH_RE = re.compile(r"\bsearch\b", re.IGNORECASE)
_USER_PREFIX = "[user]: "


class AttachedFile(Protocol):
    """What an answer says about an attached file (the simulator's ``SimUpload``)."""

    @property
    def file_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def mime(self) -> str: ...
    @property
    def size(self) -> int: ...


def files_note(files: Sequence[AttachedFile] | None) -> str:
    """`` [files: a.png (image/png, 68 bytes); ...]``, or "" without files."""
    if not files:
        return ""
    listed = "; ".join(f"{f.name} ({f.mime}, {f.size} bytes)" for f in files)
    return f" [files: {listed}]"


def split_tokens(text: str) -> list[str]:
    """Word tokens keeping their trailing spaces; ``"".join(split_tokens(t)) == t``."""
    return _TOKEN_RE.findall(text)


def last_user_text(message: str) -> str:
    for part in reversed(_PART_SPLIT_RE.split(message)):
        if part.startswith(_USER_PREFIX):
            return part[len(_USER_PREFIX) :]
    return message


def message_hash(message: str) -> str:
    return hashlib.sha256(message.encode()).hexdigest()[:10]


def wants_search(message: str) -> bool:
    return _SEARCH_RE.search(last_user_text(message)) is not None


def card_id(message: str) -> str:
    return f"sim-cite-{message_hash(message)[:8]}"


def render_tag(cid: str) -> str:
    return (
        f'<grok:render card_id="{cid}" card_type="citation_card" type="render_inline_citation">'
        '<argument name="citation_id">0</argument></grok:render>'
    )


def thinking_text(message: str, mode: str) -> str:
    """Concatenated reasoning tokens ("" for ``fast``)."""
    if mode == "fast":
        return ""
    return f"Thinking about {len(last_user_text(message))} characters."


def final_text(message: str, files: Sequence[AttachedFile] | None = None) -> str:
    """Raw final text (``modelResponse.message``), including a render tag on search."""
    user = last_user_text(message)
    tail = f" {user} [sha:{message_hash(message)}]{files_note(files)}"
    if wants_search(message):
        return "Echo:" + render_tag(card_id(message)) + tail
    return "Echo:" + tail


def rendered_text(message: str, files: Sequence[AttachedFile] | None = None) -> str:
    """The final text once a gateway turned the citation tag into `` [[1]](url)``."""
    if wants_search(message):
        user = last_user_text(message)
        note = files_note(files)
        return f"Echo: [[1]]({SEARCH_URLS[0]}) {user} [sha:{message_hash(message)}]{note}"
    return final_text(message, files)


def search_results() -> list[dict[str, str]]:
    return [
        {
            "url": SEARCH_URLS[0],
            "title": "Grok simulator result one",
            "preview": "First deterministic search result of the grok.com simulator.",
        },
        {
            "url": SEARCH_URLS[1],
            "title": "Grok simulator result two",
            "preview": "Second deterministic search result of the grok.com simulator.",
        },
    ]


@dataclass(frozen=True)
class Answer:
    """Everything the chat stream needs for one request."""

    thinking: list[str]
    final: list[str]
    text: str
    search: list[dict[str, str]] | None = None
    card_id: str | None = None
    card_json: str | None = None
    card_token_index: int | None = None  # index in ``final`` of the render-tag token


def build_answer(message: str, mode: str, files: Sequence[AttachedFile] | None = None) -> Answer:
    thinking = split_tokens(thinking_text(message, mode))
    tool_text = tool_answer(message)
    if tool_text is not None:  # the prompt offers tools and the model "decides" to use them
        return Answer(thinking=thinking, final=split_tokens(tool_text), text=tool_text)
    text = final_text(message, files)
    if not wants_search(message):
        return Answer(thinking=thinking, final=split_tokens(text), text=text)
    cid = card_id(message)
    tag = render_tag(cid)
    rest = text[len("Echo:") + len(tag) :]
    final = ["Echo:", tag, *split_tokens(rest)]
    card = {
        "id": cid,
        "type": "render_inline_citation",
        "cardType": "citation_card",
        "url": SEARCH_URLS[0],
    }
    return Answer(
        thinking=thinking,
        final=final,
        text=text,
        search=search_results(),
        card_id=cid,
        card_json=json.dumps(card, separators=(",", ":")),
        card_token_index=1,
    )


# NDJSON frame payloads (docs/grok-protocol.md §4.2, §4.7) -------------------------------------
def _resp(**fields: Any) -> dict[str, Any]:
    return {"result": {"response": fields}}


def conversation_frame(conversation_id: str, create_time: str) -> dict[str, Any]:
    conversation = {
        "conversationId": conversation_id,
        "title": "New conversation",
        "starred": False,
        "createTime": create_time,
        "modifyTime": create_time,
        "systemPromptName": "",
        "temporary": True,
        "mediaTypes": [],
    }
    return {"result": {"conversation": conversation}}


def stream_error_frame(message: str, *, model_not_available: bool = False) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if model_not_available:
        error["modelNotAvailable"] = {}
    error["severity"] = "STREAM_ERROR_SEVERITY_NORMAL"
    return _resp(error=error)


def answer_frames(
    message: str,
    mode: str,
    *,
    user_response_id: str,
    response_id: str,
    create_time: str,
    end_time: str,
    files: Sequence[AttachedFile] | None = None,
) -> list[dict[str, Any]]:
    """Every frame after the conversation frame, in grok.com order.

    userResponse, llmInfo, thinking tokens, webSearchResults (search only), final tokens (with
    the cardAttachment right before the render-tag token), modelResponse, finalMetadata.
    The search frames come before the final tokens so that a streaming client already holds
    the card when the ``<grok:render>`` token arrives, as on grok.com.
    """
    answer = build_answer(message, mode, files)
    file_ids = [f.file_id for f in files or ()]
    model_hash = f"sim-{mode}"
    user_response = {
        "responseId": user_response_id,
        "message": message,
        "sender": "human",
        "createTime": create_time,
        "manual": False,
        "partial": False,
        "shared": False,
        "query": "",
        "queryType": "",
        "webSearchResults": [],
        "generatedImageUrls": [],
        "imageAttachments": [],
        "fileAttachments": list(file_ids),
        "cardAttachmentsJson": [],
    }
    common: dict[str, Any] = {"isSoftStop": False, "responseId": response_id}
    frames = [
        _resp(
            userResponse=user_response,
            isThinking=False,
            isSoftStop=False,
            responseId=user_response_id,
        ),
        _resp(llmInfo={"modelHash": model_hash}),
    ]
    for i, token in enumerate(answer.thinking):
        tag = "header" if i == 0 else "analysis"
        frames.append(
            _resp(token=token, isThinking=True, **common, messageTag=tag, rolloutId="Grok")
        )
    if answer.search is not None:
        frames.append(
            _resp(webSearchResults={"results": answer.search}, isThinking=False, **common)
        )
    for i, token in enumerate(answer.final):
        if i == answer.card_token_index:
            frames.append(
                _resp(cardAttachment={"jsonData": answer.card_json}, isThinking=False, **common)
            )
        frames.append(_resp(token=token, isThinking=False, **common, messageTag="final"))
    model_response = {
        "responseId": response_id,
        "message": answer.text,
        "sender": "ASSISTANT",
        "createTime": end_time,
        "parentResponseId": user_response_id,
        "manual": False,
        "partial": False,
        "shared": False,
        "query": "",
        "queryType": "",
        "webSearchResults": answer.search or [],
        "generatedImageUrls": [],
        "imageAttachments": [],
        "fileAttachments": list(file_ids),
        "cardAttachmentsJson": [answer.card_json] if answer.card_json else [],
        "streamErrors": [],
        "metadata": {"llm_info": {"modelHash": model_hash}},
    }
    frames.append(_resp(modelResponse=model_response))
    frames.append(_resp(finalMetadata={"followUpSuggestions": []}))
    return frames
