"""The model registry: public ids → grok.com modeId and minimum tier
(docs/grok-protocol.md §10, §8.4)."""

from __future__ import annotations

import pytest

from grokgate.core.registry import MODELS, Kind, ModelSpec, list_models, resolve
from grokgate.errors import InvalidRequestError, ModelNotFoundError, NotFoundError
from grokgate.stores.records import Tier

B, S, H = Tier.BASIC, Tier.SUPER, Tier.HEAVY

# §10, PY2 chat table: public id → (modeId, minimum tier, prefer_best)
PY2_CHAT_MODELS: dict[str, tuple[str, Tier, bool]] = {
    "grok-4.20-0309-non-reasoning": ("fast", B, False),
    "grok-4.20-0309": ("auto", S, False),
    "grok-4.20-0309-reasoning": ("expert", S, False),
    "grok-4.20-0309-non-reasoning-super": ("fast", S, False),
    "grok-4.20-0309-super": ("auto", S, False),
    "grok-4.20-0309-reasoning-super": ("expert", S, False),
    "grok-4.20-0309-non-reasoning-heavy": ("fast", H, False),
    "grok-4.20-0309-heavy": ("auto", H, False),
    "grok-4.20-0309-reasoning-heavy": ("expert", H, False),
    "grok-4.20-multi-agent-0309": ("heavy", H, False),
    "grok-4.20-fast": ("fast", B, True),
    "grok-4.20-auto": ("auto", S, True),
    "grok-4.20-expert": ("expert", S, True),
    "grok-4.20-heavy": ("heavy", H, True),
    "grok-4.3-beta": ("grok-420-computer-use-sa", S, False),
}

# §8.4: pool order per minimum tier; prefer_best reverses it. Basic accounts only do "fast".
EXPECTED_ORDER: dict[str, list[Tier]] = {
    "grok-4.20-0309-non-reasoning": [B, S, H],
    "grok-4.20-0309": [S, H],
    "grok-4.20-0309-reasoning": [S, H],
    "grok-4.20-0309-non-reasoning-super": [S, H],
    "grok-4.20-0309-super": [S, H],
    "grok-4.20-0309-reasoning-super": [S, H],
    "grok-4.20-0309-non-reasoning-heavy": [H],
    "grok-4.20-0309-heavy": [H],
    "grok-4.20-0309-reasoning-heavy": [H],
    "grok-4.20-multi-agent-0309": [H],
    "grok-4.20-fast": [H, S, B],
    "grok-4.20-auto": [H, S],
    "grok-4.20-expert": [H, S],
    "grok-4.20-heavy": [H],
    "grok-4.3-beta": [S, H],
}


def test_ids_are_unique() -> None:
    ids = [m.id for m in list_models()]
    assert len(ids) == len(set(ids))


# §10 media tables (GO3: every tier may use Imagine): id → (quota group, kind, max n)
MEDIA_MODELS: dict[str, tuple[str, Kind, int]] = {
    "grok-imagine-image": ("image", Kind.IMAGE, 10),
    "grok-imagine-image-pro": ("imagePro", Kind.IMAGE, 10),
    "grok-imagine-image-lite": ("fast", Kind.IMAGE_LITE, 4),
    "grok-imagine-image-edit": ("imageEdit", Kind.IMAGE_EDIT, 2),
    "grok-imagine-video": ("video", Kind.VIDEO, 1),
}


def test_registry_lists_exactly_the_py2_chat_models_and_the_media_models() -> None:
    assert {m.id for m in list_models()} == set(PY2_CHAT_MODELS) | set(MEDIA_MODELS)
    assert list_models() == MODELS
    assert all(resolve(m).kind is Kind.CHAT for m in PY2_CHAT_MODELS)


@pytest.mark.parametrize("model_id", sorted(MEDIA_MODELS))
def test_media_models(model_id: str) -> None:
    spec = resolve(model_id)
    assert (spec.mode, spec.kind, spec.max_n) == MEDIA_MODELS[model_id]
    assert spec.min_tier is B and not spec.reasoning
    # lite images spend the fast chat quota, which basic accounts have; Imagine groups: any tier
    assert spec.tier_order() == [B, S, H]
    assert spec.pro is (model_id == "grok-imagine-image-pro")


@pytest.mark.parametrize("model_id", sorted(PY2_CHAT_MODELS))
def test_public_id_resolves_to_mode_and_min_tier(model_id: str) -> None:
    mode, tier, prefer_best = PY2_CHAT_MODELS[model_id]
    spec = resolve(model_id)
    assert isinstance(spec, ModelSpec)
    assert (spec.id, spec.mode, spec.min_tier, spec.prefer_best) == (
        model_id,
        mode,
        tier,
        prefer_best,
    )
    assert spec.upstream == "grok_web"


@pytest.mark.parametrize("model_id", sorted(EXPECTED_ORDER))
def test_tier_order(model_id: str) -> None:
    assert resolve(model_id).tier_order() == EXPECTED_ORDER[model_id]


@pytest.mark.parametrize("spec", MODELS, ids=lambda m: m.id)
def test_tier_order_direction_follows_prefer_best(spec: ModelSpec) -> None:
    order = spec.tier_order()
    ranks = [t.rank for t in order]
    assert order, "every model must be servable by some tier"
    assert min(ranks) >= spec.min_tier.rank
    if spec.prefer_best:
        assert ranks == sorted(ranks, reverse=True)
    else:
        assert ranks == sorted(ranks)
        assert order[0] is spec.min_tier


@pytest.mark.parametrize(
    "spec", [m for m in MODELS if m.mode != "fast" and m.kind is Kind.CHAT], ids=lambda m: m.id
)
def test_basic_never_serves_a_non_fast_chat_mode(spec: ModelSpec) -> None:
    assert Tier.BASIC not in spec.tier_order()


def test_reasoning_flag_is_false_only_for_fast() -> None:
    assert resolve("grok-4.20-0309-non-reasoning").reasoning is False
    assert resolve("grok-4.20-0309-reasoning").reasoning is True
    assert resolve("grok-4.20-heavy").reasoning is True


def test_surrounding_space_is_ignored() -> None:
    assert resolve("  grok-4.20-fast \n").id == "grok-4.20-fast"


@pytest.mark.parametrize("model_id", [None, "", "   ", "\t\n", 42, ["grok-4.20-fast"]])
def test_missing_model_is_a_400(model_id: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        resolve(model_id)
    assert info.value.status == 400
    assert info.value.code == "missing_model"
    assert info.value.param == "model"


@pytest.mark.parametrize("model_id", ["gpt-4o", "grok-4.20", "GROK-4.20-FAST", "grok-4.20-fast-"])
def test_unknown_model_is_a_404(model_id: str) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve(model_id)
    error = info.value
    assert isinstance(error, NotFoundError)
    assert error.status == 404
    assert error.code == "model_not_found"
    assert error.param == "model"
    assert model_id in error.message


def test_long_unknown_id_is_truncated_in_the_message() -> None:
    model_id = "x" * 100 + "TAIL" * 200
    with pytest.raises(ModelNotFoundError) as info:
        resolve(model_id)
    message = info.value.message
    assert "TAIL" not in message
    assert "x" * 100 + "…" in message
    assert len(message) < 300


def test_id_of_exactly_100_chars_is_not_truncated() -> None:
    model_id = "y" * 100
    with pytest.raises(ModelNotFoundError) as info:
        resolve(model_id)
    assert repr(model_id) in info.value.message


# --- the Registry: xAI models and aliases ------------------------------------------------------

XAI = ("grok-4", "grok-4.20-0309-reasoning")


def test_xai_models_are_listed_with_their_upstream_and_collisions_prefixed() -> None:
    from grokgate.core.registry import Registry

    registry = Registry(XAI, ["grok-2-image-1212"])
    listed = {m.id: m for m in registry.listed()}
    assert listed["grok-4"].owned_by == "xai" and listed["grok-4"].is_xai
    assert listed["grok-4"].target == "grok-4" and listed["grok-4"].mode == "xai"
    # grok.com already has this id: the web model keeps it, the xAI one is xai/<id>
    assert not listed["grok-4.20-0309-reasoning"].is_xai
    prefixed = listed["xai/grok-4.20-0309-reasoning"]
    assert prefixed.is_xai and prefixed.target == "grok-4.20-0309-reasoning"
    assert registry.resolve("xai/grok-4").target == "grok-4"  # xai/ always names xAI
    image = registry.resolve("grok-2-image-1212")
    assert image.kind is Kind.IMAGE and image.is_xai
    assert [t.value for t in image.tier_order()] == ["basic"]
    assert len(listed) == len(MODELS) + 3


def test_aliases_resolve_but_are_not_listed() -> None:
    from grokgate.core.registry import ALIASES, Registry

    registry = Registry()
    ids = {m.id for m in registry.listed()}
    for alias, target in ALIASES.items():
        assert alias not in ids
        assert registry.resolve(alias) is registry.resolve(target)
    assert registry.resolve("grok-latest").id == "grok-4.20-auto"
    assert registry.resolve("Web/grok-chat-expert").mode == "expert"


def test_without_xai_models_the_registry_is_the_grok_table() -> None:
    from grokgate.core.registry import Registry

    registry = Registry([], [])
    assert registry.listed() == MODELS
    with pytest.raises(ModelNotFoundError):
        registry.resolve("grok-4")
    with pytest.raises(ModelNotFoundError):
        resolve("grok-4")  # the module-level resolve knows grok.com models only
