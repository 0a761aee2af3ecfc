"""The one model registry: public model id → upstream, grok.com mode and minimum tier.

The grok.com table follows docs/grok-protocol.md §10 (the ids other Grok gateways expose, so clients
can switch to grokgate without renaming models). A :class:`Registry` adds the xAI API's models (a
configurable list, docs/xai-api.md §5): they are served by the pool's xAI API keys and forwarded
almost unchanged. An xAI id that a grok.com model already uses is listed as ``xai/<id>``;
``xai/<id>`` always names the xAI model. A few unlisted aliases keep the names other gateways use
working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from grokgate.errors import InvalidRequestError, ModelNotFoundError
from grokgate.stores.records import XAI_MODE, Tier, tier_has_mode

CREATED = 1772668800  # 2026-03-05, when the 4.20 web models appeared


class Kind(StrEnum):
    """What a model produces, and so which service serves it."""

    CHAT = "chat"
    IMAGE = "image"  # text to image: the imagine WebSocket
    IMAGE_LITE = "image_lite"  # text to image through a fast chat ("Drawing: ...")
    IMAGE_EDIT = "image_edit"
    VIDEO = "video"

    @property
    def is_image(self) -> bool:
        return self in (Kind.IMAGE, Kind.IMAGE_LITE, Kind.IMAGE_EDIT)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    mode: str  # grok.com ``modeId``, or the Imagine quota group of a media model
    min_tier: Tier
    prefer_best: bool = False  # try the highest tier first
    upstream: str = "grok_web"
    owned_by: str = "grokgate"
    description: str = ""
    kind: Kind = Kind.CHAT
    pro: bool = False  # the imagine WebSocket's ``enable_pro`` (quality model)
    max_n: int = 1  # images one request may ask for
    upstream_id: str | None = None  # the upstream's own name, when it is not ``id``

    @property
    def target(self) -> str:
        """The model name the upstream knows (xAI models: their xAI id)."""
        return self.upstream_id or self.id

    @property
    def is_xai(self) -> bool:
        return self.upstream == XAI_UPSTREAM

    @property
    def reasoning(self) -> bool:
        """Whether the mode thinks before answering (fast does not)."""
        return self.kind is Kind.CHAT and self.mode != "fast"

    def tier_order(self) -> list[Tier]:
        """Tiers that may serve this model, in the order they should be tried (§8.4)."""
        if self.is_xai:
            return [Tier.BASIC]  # xAI API keys have no tier
        tiers = [t for t in Tier if t.rank >= self.min_tier.rank and tier_has_mode(t, self.mode)]
        return sorted(tiers, key=lambda t: t.rank, reverse=self.prefer_best)


def _web(mid: str, mode: str, tier: Tier, desc: str, prefer_best: bool = False) -> ModelSpec:
    return ModelSpec(mid, mode, tier, prefer_best=prefer_best, description=desc)


def _media(
    mid: str, mode: str, kind: Kind, desc: str, *, pro: bool = False, max_n: int = 1
) -> ModelSpec:
    return ModelSpec(mid, mode, Tier.BASIC, description=desc, kind=kind, pro=pro, max_n=max_n)


XAI_UPSTREAM = "xai"
XAI_PREFIX = "xai/"

_B, _S, _H = Tier.BASIC, Tier.SUPER, Tier.HEAVY

MODELS: tuple[ModelSpec, ...] = (
    _web("grok-4.20-0309-non-reasoning", "fast", _B, "Grok 4.20, fast answers"),
    _web("grok-4.20-0309", "auto", _S, "Grok 4.20, thinks when needed"),
    _web("grok-4.20-0309-reasoning", "expert", _S, "Grok 4.20, always reasons"),
    _web("grok-4.20-0309-non-reasoning-super", "fast", _S, "fast, SuperGrok accounts only"),
    _web("grok-4.20-0309-super", "auto", _S, "auto, SuperGrok accounts only"),
    _web("grok-4.20-0309-reasoning-super", "expert", _S, "expert, SuperGrok accounts only"),
    _web("grok-4.20-0309-non-reasoning-heavy", "fast", _H, "fast, Heavy accounts only"),
    _web("grok-4.20-0309-heavy", "auto", _H, "auto, Heavy accounts only"),
    _web("grok-4.20-0309-reasoning-heavy", "expert", _H, "expert, Heavy accounts only"),
    _web("grok-4.20-multi-agent-0309", "heavy", _H, "Grok Heavy, multi-agent"),
    _web("grok-4.20-fast", "fast", _B, "fast mode, best account first", prefer_best=True),
    _web("grok-4.20-auto", "auto", _S, "auto mode, best account first", prefer_best=True),
    _web("grok-4.20-expert", "expert", _S, "expert mode, best account first", prefer_best=True),
    _web("grok-4.20-heavy", "heavy", _H, "heavy mode", prefer_best=True),
    _web("grok-4.3-beta", "grok-420-computer-use-sa", _S, "Grok 4.3 beta"),
    # Imagine (docs/grok-protocol.md §6, §7, §10: every tier may use them)
    _media("grok-imagine-image", "image", Kind.IMAGE, "Imagine text to image", max_n=10),
    _media(
        "grok-imagine-image-pro", "imagePro", Kind.IMAGE, "Imagine, quality", pro=True, max_n=10
    ),
    _media("grok-imagine-image-lite", "fast", Kind.IMAGE_LITE, "images from a fast chat", max_n=4),
    _media("grok-imagine-image-edit", "imageEdit", Kind.IMAGE_EDIT, "Imagine image edit", max_n=2),
    _media("grok-imagine-video", "video", Kind.VIDEO, "Imagine text/image to video"),
)

# Unlisted names that other Grok gateways and older grokgate docs use.
ALIASES: Mapping[str, str] = {
    "grok-latest": "grok-4.20-auto",
    "grok-imagine-image-2.0": "grok-imagine-image-pro",
    **{
        f"{prefix}grok-chat-{mode}": f"grok-4.20-{mode}"
        for prefix in ("", "Web/")
        for mode in ("fast", "auto", "expert", "heavy")
    },
}


def xai_spec(xai_id: str, public_id: str, kind: Kind = Kind.CHAT) -> ModelSpec:
    what = "images" if kind is Kind.IMAGE else "chat"
    return ModelSpec(
        public_id,
        XAI_MODE,
        Tier.BASIC,
        upstream=XAI_UPSTREAM,
        owned_by="xai",
        description=f"xAI API {what} ({xai_id}), served with the pool's xAI API keys",
        kind=kind,
        max_n=10 if kind is Kind.IMAGE else 1,
        upstream_id=xai_id,
    )


class Registry:
    """Public model ids → specs, for one configuration (build it once per process)."""

    def __init__(
        self,
        xai_models: Iterable[str] = (),
        xai_image_models: Iterable[str] = (),
        *,
        aliases: Mapping[str, str] = ALIASES,
    ) -> None:
        listed: list[ModelSpec] = list(MODELS)
        by_id: dict[str, ModelSpec] = {m.id: m for m in MODELS}
        for kind, ids in ((Kind.CHAT, xai_models), (Kind.IMAGE, xai_image_models)):
            for xai_id in dict.fromkeys(i.strip() for i in ids if i.strip()):
                public = xai_id if xai_id not in by_id else XAI_PREFIX + xai_id
                spec = xai_spec(xai_id, public, kind)
                listed.append(spec)
                by_id[public] = spec
                by_id.setdefault(XAI_PREFIX + xai_id, spec)
        for alias, target in aliases.items():
            if alias not in by_id and target in by_id:
                by_id[alias] = by_id[target]
        self._listed = tuple(listed)
        self._by_id = by_id

    def listed(self) -> tuple[ModelSpec, ...]:
        """What ``/v1/models`` shows (aliases are not listed)."""
        return self._listed

    def resolve(self, model_id: object) -> ModelSpec:
        """The spec for a public model id; a clear error for a missing or unknown one."""
        if not isinstance(model_id, str) or not model_id.strip():
            raise InvalidRequestError(
                "you must provide a model parameter", param="model", code="missing_model"
            )
        spec = self._by_id.get(model_id.strip())
        if spec is None:
            shown = model_id if len(model_id) <= 100 else model_id[:100] + "…"
            raise ModelNotFoundError(
                f"The model {shown!r} does not exist; GET /v1/models lists the available models",
                param="model",
            )
        return spec


_WEB_ONLY = Registry()


def list_models() -> tuple[ModelSpec, ...]:
    """The grok.com models (the table without any xAI model)."""
    return MODELS


def resolve(model_id: object) -> ModelSpec:
    """Resolve against the grok.com table only (no xAI models); see :class:`Registry`."""
    return _WEB_ONLY.resolve(model_id)
