"""No silent drops (README, "Request fields"): a field grokgate does not implement that would
change what the model sees is a 400 in OpenAI's format; a harmless one passes."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.sdk import openai_client as client
from tests.support import Sim

FAST = "grok-4.20-0309-non-reasoning"
USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        (
            {"messages": [{"role": "assistant", "audio": {"id": "audio_1"}}, USER]},
            "messages[0].audio",
        ),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"modalities": ["text", "audio"]}, "modalities"),
    ],
)
def test_chat_fields_that_matter_are_refused(
    gateway: str, extra: dict[str, Any], param: str
) -> None:
    body: dict[str, Any] = {"model": FAST, "messages": [USER], **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        client(gateway).chat.completions.create(**body)
    assert caught.value.body["param"] == param  # type: ignore[index]
    assert caught.value.code == "unsupported_parameter"


def test_an_assistant_refusal_stays_in_the_history(gateway: str, sim: Sim) -> None:
    client(gateway).chat.completions.create(
        model=FAST,
        messages=[
            {"role": "user", "content": "do it"},
            {"role": "assistant", "content": None, "refusal": "I can't help with that."},
            {"role": "user", "content": "why?"},
        ],
    )
    assert sim.state.chat_requests()[-1].body["message"] == (
        "[user]: do it\n\n[assistant]: I can't help with that.\n\n[user]: why?"
    )


def test_harmless_chat_fields_pass(gateway: str) -> None:
    out = client(gateway).chat.completions.create(
        model=FAST,
        messages=[{"role": "user", "content": "hi"}],
        modalities=["text"],
        seed=1,
        logit_bias={"1": 1},
        presence_penalty=0.5,
        service_tier="auto",
        store=True,
        metadata={"k": "v"},
        prediction={"type": "content", "content": "hi"},
        web_search_options={},
        extra_body={"verbosity": "low", "prompt_cache_key": "k", "safety_identifier": "s"},
    )
    assert out.choices[0].message.content


def test_responses_prompt_template_is_refused(gateway: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(gateway).responses.create(model=FAST, input="hi", prompt={"id": "pmpt_1"})
    assert caught.value.body["param"] == "prompt"  # type: ignore[index]
    assert caught.value.code == "unsupported_parameter"
