"""parse_token_spec(): "tier:token" entries of GROKGATE_SSO_TOKENS."""

from __future__ import annotations

import pytest

from grokgate.runtime import parse_token_spec
from grokgate.stores.records import Tier


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("super:eyJabc", (Tier.SUPER, "eyJabc")),
        ("heavy:eyJabc", (Tier.HEAVY, "eyJabc")),
        ("basic:eyJabc", (Tier.BASIC, "eyJabc")),
        ("SUPER:eyJabc", (Tier.SUPER, "eyJabc")),
        ("Heavy:a:b", (Tier.HEAVY, "a:b")),
    ],
)
def test_tier_prefix_is_parsed(spec: str, expected: tuple[Tier, str]) -> None:
    assert parse_token_spec(spec, Tier.BASIC) == expected


@pytest.mark.parametrize("spec", ["eyJabc", "sso=eyJabc", "gold:eyJabc", "eyJ:abc", ":eyJabc"])
def test_without_a_tier_prefix_the_default_applies_and_the_spec_is_kept(spec: str) -> None:
    assert parse_token_spec(spec, Tier.SUPER) == (Tier.SUPER, spec)


def test_a_bare_tier_gives_an_empty_token() -> None:
    # the store rejects the empty token later, with a clear 400
    assert parse_token_spec("heavy:", Tier.BASIC) == (Tier.HEAVY, "")
