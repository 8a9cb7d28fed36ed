"""The evaluation suite run on the held-out pairs after training (methods.md §7)."""

from typing import Literal

from pydantic import Field

from recipes._base import StrictModel

# Grows as workers/evaluators learns more metrics; the Literal keeps typos out of recipes.
MetricName = Literal[
    "ranking_accuracy",
    "reward_accuracy",
    "idealized_accuracy",
    "drift",
    "ches",
    "kl",
    "perplexity",
    "win_rate",
]
ALL_METRICS: list[str] = list(MetricName.__args__)
# win_rate is opt-in: it sets a share of the data aside for its judge and generates 2 answers per prompt.
DEFAULT_METRICS: list[str] = [name for name in ALL_METRICS if name != "win_rate"]

# How reports and the CLI name the headline results (label, metric key); every page shows these first.
HEADLINE_METRICS: list[tuple[str, str]] = [
    ("Ranking accuracy, base (E1)", "ranking_accuracy_before"),
    ("Ranking accuracy, adapter (E1)", "ranking_accuracy_after"),
    ("Length-normalised ranking accuracy, base", "ranking_accuracy_ln_before"),
    ("Length-normalised ranking accuracy, adapter", "ranking_accuracy_ln_after"),
    ("Implicit-reward accuracy (E3)", "reward_accuracy"),
    ("Implicit-reward margin (E3)", "reward_margin"),
    ("'Longer response wins' baseline", "longer_wins_baseline"),
]
# A short second tier for terminal summaries; the report holds everything.
SUMMARY_METRICS: list[tuple[str, str]] = [
    ("Alignment gap R* − R (E2)", "e2_alignment_gap"),
    ("Chosen log-prob fell (displacement, E4)", "e4_displacement_rate"),
    ("KL to the reference, k3 per answer (E7)", "kl_k3_sequence"),
    ("General-text perplexity change (E8)", "ppl_delta"),
    ("Training pairs/s", "pairs_per_second"),
    ("Training tokens/s", "tokens_per_second"),
    ("Training seconds", "train_seconds"),
]


class EvaluationSpec(StrictModel):
    metrics: list[MetricName] = Field(
        default_factory=lambda: list(DEFAULT_METRICS),
        description="Metrics (methods.md §7): ranking_accuracy (E1), idealized_accuracy (E2: R*, alignment"
        " gap), reward_accuracy (E3), drift (E4: chosen/rejected log-prob drift), ches (E5), kl (E7: KL to"
        " the reference on T=1 samples), perplexity (E8: general-text perplexity change), win_rate (E6,"
        " opt-in: adapter vs base answers judged by a reward model trained on a disjoint share of the"
        " data). E1 and E3 are always computed.",
    )
    kl_prompts: int = Field(
        32, ge=1, le=10000, description="Held-out prompts sampled at T=1 for the KL (E7)."
    )
    kl_max_new_tokens: int = Field(64, ge=1, le=4096, description="New tokens per KL sample (E7).")
    win_rate_prompts: int = Field(32, ge=1, le=10000, description="Held-out prompts answered for E6.")
    win_rate_max_new_tokens: int = Field(64, ge=1, le=4096, description="New tokens per E6 answer.")
    judge_fraction: float = Field(
        0.15,
        gt=0,
        lt=0.9,
        description="Share of the data set aside (prompt- and response-disjoint) to train the E6 judge;"
        " it is never trained on or used for selection.",
    )
    perplexity_windows: int = Field(
        64, ge=1, le=100000, description="256-token windows of the bundled general-text corpus scored for E8."
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
