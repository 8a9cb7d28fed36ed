"""PRO — Preference Orchestrator (Liu et al., arXiv 2511.10656; methods.md §3A): prompt-aware weights.

A small preference adapter maps a frozen prompt embedding to weights over the data's objectives; it is
trained on the normalized scores of each prompt's preferred response, and its weights w(x) turn the
per-objective scores into the pairs a weighted-pair DPO backend trains on. Beyond the abstract every
choice is the studio's ([D], see docs/methods/pro.md). Not "Preference Ranking Optimization" (§3B).
"""

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from recipes._base import StrictModel

MIN_OBJECTIVES = 2


def data_objectives(mapping: Any) -> tuple[str, list[str]]:
    """(where the objectives come from, their names): fields.scores wins over fields.ratings."""
    if mapping is not None and mapping.scores:
        return "data.fields.scores", list(mapping.scores)
    if mapping is not None and mapping.ratings:
        return "data.fields.ratings", list(mapping.ratings)
    return "", []


class PROSpec(StrictModel):
    """Prompt-aware multi-objective alignment: inferred per-prompt weights + weighted-pair DPO."""

    DATA_SHAPE: ClassVar[str] = "rated_responses"  # several responses per prompt, several objectives each
    PAPER: ClassVar[str] = "https://arxiv.org/abs/2511.10656"

    method: Literal["pro"] = Field(
        description="Training method; 'pro' is PRO — Preference Orchestrator (2025), prompt-aware "
        "weights over several objectives (not Preference Ranking Optimization)."
    )
    beta: float = Field(
        0.1, gt=0, le=10, description="β of the DPO backend: how far the adapter may drift from the base."
    )
    objectives: list[str] | None = Field(
        None,
        min_length=MIN_OBJECTIVES,
        description="The objectives to weigh, by their names in data.fields.scores (or ratings); "
        "empty = every objective the data maps.",
    )
    normalization: Literal["zscore", "minmax"] = Field(
        "zscore",
        description="Per-objective normalization over the training responses before weighting: zscore "
        "((r − mean) / std) or minmax ((r − min) / (max − min)).",
    )
    temperature: float = Field(
        1.0,
        gt=0,
        le=100,
        description="τ of the adapter's targets softmax(r̃(x, y_w)/τ): lower makes each prompt's target "
        "weights sharper.",
    )
    adapter_hidden: int = Field(
        256, ge=8, le=4096, description="Width of the adapter MLP's two hidden layers."
    )
    adapter_epochs: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most passes of the adapter over the training prompts (seconds); the validation "
        "prompts pick how many of them to keep.",
    )
    adapter_validation_fraction: float = Field(
        0.2,
        ge=0,
        lt=0.9,
        description="Share of the training prompts held out of the adapter to pick how many epochs to keep "
        "(0 epochs = the average weights); it is then refit on every prompt. 0 = all epochs, no early stop.",
    )
    adapter_learning_rate: float = Field(
        1e-3, gt=0, le=0.1, description="AdamW learning rate of the adapter MLP."
    )
    adapter_weight_decay: float = Field(
        0.01,
        ge=0,
        le=10,
        description="AdamW weight decay of the adapter MLP; keeps it from memorising a few dozen prompts.",
    )
    prompt_encoder: Literal["minilm", "base_model"] = Field(
        "minilm",
        description="Frozen prompt embedding e(x): minilm (bundled all-MiniLM-L6-v2, offline) or "
        "base_model (the base LM's mean-pooled hidden state, adapter off).",
    )
    min_gap: float = Field(
        0.1,
        ge=0,
        le=10,
        description="δ: two responses make a training pair only if their weighted score R differs by at "
        "least this much (on the normalized scale).",
    )
    pair_weighting: Literal["strength", "margin", "none"] = Field(
        "strength",
        description="How the DPO backend uses each pair's R-gap m: strength (loss × m/mean m), margin "
        "(−log σ(βΔ − γ_m·m)) or none.",
    )
    margin_scale: float = Field(
        1.0,
        ge=0,
        le=100,
        description="γ_m, logit units per unit of R-gap; only pair_weighting: margin reads it.",
    )
    weights_override: dict[str, float] | None = Field(
        None,
        description="Fixed weights for every prompt (objective → weight ≥ 0, normalized to sum 1), "
        "instead of the adapter's: the fixed-weight baseline, or a user's choice. Empty = inferred.",
    )

    @field_validator("objectives")
    @classmethod
    def _objectives_are_distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("objectives lists a name twice: name each objective once")
        return value

    @model_validator(mode="after")
    def _override_is_a_weighting(self) -> "PROSpec":
        weights = self.weights_override
        if weights is None:
            return self
        negative = sorted(name for name, value in weights.items() if value < 0)
        if negative:
            raise ValueError(f"weights_override gives {negative} a negative weight: use weights ≥ 0")
        if sum(weights.values()) <= 0:
            raise ValueError("weights_override must give some objective a weight above 0")
        unknown = sorted(set(weights) - set(self.objectives or weights))
        if unknown:
            raise ValueError(f"weights_override names {unknown}, which are not in objectives: add or remove")
        return self

    @model_validator(mode="after")
    def _margin_scale_needs_margin(self) -> "PROSpec":
        if self.margin_scale != 1.0 and self.pair_weighting != "margin":
            raise ValueError(
                "margin_scale is only used with pair_weighting margin; remove margin_scale "
                "or set pair_weighting to margin"
            )
        return self

    def check_recipe(self, recipe: Any) -> list[str]:
        """The data must map per-response scores (or ratings) of ≥ 2 objectives, and names must match."""
        where, available = data_objectives(recipe.data.mapping())
        if len(available) < MIN_OBJECTIVES:
            return [
                "data.fields: pro weighs several objectives per response, so map per-response scores of at "
                "least two objectives: fields.scores (objective → column of scores, with score_scales) or "
                f"fields.ratings (criterion → columns); this mapping has {len(available)}"
            ]
        problems = []
        for field, names in (("objectives", self.objectives), ("weights_override", self.weights_override)):
            unknown = [name for name in names or () if name not in available]
            if unknown:
                problems.append(
                    f"method.{field}: {unknown} are not objectives of the data; {where} has "
                    f"{available}: use those names"
                )
        return problems
