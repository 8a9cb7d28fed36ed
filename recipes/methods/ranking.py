"""Listwise ranking: PRO — Preference Ranking Optimization (Song et al., AAAI 2024; methods.md §3B).

Not "PRO (Preference Orchestrator)", the multi-objective method `pro` (methods.md §3A): the two papers
share an acronym, so this one is offered as `ranking`. It learns from k ≥ 2 responses per prompt in a
full order (OASST sibling ranks, Argilla ranking questions, ratings), one softmax per position, with no
reference model.
"""

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from recipes._base import StrictModel

UI_LABEL = "Listwise ranking – Preference Ranking Optimization (Song et al. 2024)"
DEFAULT_MIN_GAP = 0.1


def _ranked_signals(mapping: Any) -> list[str]:
    """The mapping's columns that can order k responses (ranks, ratings, scores)."""
    return [name for name in ("ranks", "ratings", "scores") if getattr(mapping, name, None)]


class RankingSpec(StrictModel):
    """Listwise ranking – Preference Ranking Optimization (Song et al. 2024): for each position of a
    ranked list, a softmax says the response there beats every worse one; plus an SFT term on the best.
    Not PRO (Preference Orchestrator)."""

    model_config = ConfigDict(title=UI_LABEL)

    DATA_SHAPE: ClassVar[str] = "ranked_list"
    PAPER: ClassVar[str] = "https://arxiv.org/abs/2306.17492"

    method: Literal["ranking"] = Field(
        description="Training method; 'ranking' is listwise Preference Ranking Optimization (Song et al. "
        "2024), not PRO — Preference Orchestrator ('pro')."
    )
    sft_weight: float = Field(
        0.05,
        ge=0,
        le=10,
        description="λ_sft of the SFT term λ·(n−1)²·(−log π(best)); 0.05 as in the official code. It is "
        "the only anchor to the base model (no reference, no KL): 0 lets the policy drift.",
    )
    score_gaps: Literal["ranks", "scores"] = Field(
        "ranks",
        description="Softmax temperatures d: ranks = every d is 1 (vanilla PRO); scores = d from the "
        "gap between two responses' ratings or scores, rescaled so the mean gap is 1.",
    )
    min_gap: float = Field(
        DEFAULT_MIN_GAP,
        gt=0,
        le=1,
        description="ε floor on each rescaled score gap so near-equal scores do not zero the term; "
        "only score_gaps: scores reads it. Exact ties never compete.",
    )
    max_responses: int = Field(
        4,
        ge=2,
        le=8,
        description="Longest ranked list trained on (cost grows with it); longer lists keep their best "
        "responses.",
    )

    @model_validator(mode="after")
    def _min_gap_needs_score_gaps(self) -> "RankingSpec":
        if self.min_gap != DEFAULT_MIN_GAP and self.score_gaps != "scores":
            raise ValueError(
                "min_gap is only used with score_gaps scores; remove min_gap or set score_gaps to scores"
            )
        return self

    def check_recipe(self, recipe: Any) -> list[str]:
        """The data must give ranked lists (not chosen/rejected pairs or a two-way label)."""
        mapping = recipe.data.mapping() if hasattr(recipe.data, "mapping") else None
        if mapping is None:
            return []  # an annotation dataset: its ranking question is checked when records arrive
        signals = _ranked_signals(mapping)
        if not signals:
            return [
                "data.fields: the ranking method needs ranked responses (fields.ranks, fields.ratings, "
                "fields.scores, or preset ranked_siblings); for chosen/rejected pairs or a label use "
                "method dpo"
            ]
        if self.score_gaps == "scores" and signals == ["ranks"]:
            return [
                "method.score_gaps: 'scores' needs per-response ratings or scores (fields.ratings or "
                "fields.scores) and this data has only ranks: set score_gaps to ranks"
            ]
        return []
