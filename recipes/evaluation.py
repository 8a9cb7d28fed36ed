"""The evaluation suite run on the held-out pairs after training (methods.md §7)."""

from typing import Literal

from pydantic import Field

from recipes._base import StrictModel

# Grows as workers/evaluation learns more metrics; the Literal keeps typos out of recipes.
MetricName = Literal["ranking_accuracy", "reward_accuracy"]


class EvaluationSpec(StrictModel):
    metrics: list[MetricName] = Field(
        default_factory=lambda: ["ranking_accuracy", "reward_accuracy"],
        description="Metrics computed on held-out pairs: ranking_accuracy (E1) and reward_accuracy (E3).",
    )
    max_pairs: int | None = Field(
        None, gt=0, description="Evaluate at most this many held-out pairs; empty means all of them."
    )
    confidence_level: float = Field(
        0.95, gt=0.5, lt=1, description="Coverage of the bootstrap confidence intervals, e.g. 0.95."
    )
    bootstrap_samples: int = Field(
        1000, ge=100, le=100000, description="Bootstrap resamples used for the confidence intervals."
    )
