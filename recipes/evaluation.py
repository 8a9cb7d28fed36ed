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
    "directional",
]
ALL_METRICS: list[str] = list(MetricName.__args__)
# Metrics only some methods define (their runner computes them): metric -> those methods. Training
# reports them whenever the method has them; `studio eval` recomputes them only for these methods.
METHOD_METRICS: dict[str, tuple[str, ...]] = {"directional": ("rps",)}
# win_rate is opt-in: it sets a share of the data aside for its judge and generates 2 answers per prompt.
# directional comes with the method, not with the recipe's list.
DEFAULT_METRICS: list[str] = [name for name in ALL_METRICS if name not in ("win_rate", "directional")]

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
    # Listwise methods only (k > 2 responses): E1 as the exact match of the full order.
    ("Full-order exact match of held-out lists, base (E1)", "listwise_exact_match_before"),
    ("Full-order exact match of held-out lists, adapter (E1)", "listwise_exact_match_after"),
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
        " data), directional (E9: only for methods that define it, rps; their report always has it)."
        " E1 and E3 are always computed.",
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


def resolve_suite(requested: list[str] | None, method: str, recipe_metrics: list[str]) -> list[str]:
    """The metrics `studio eval` computes for a run of `method` whose recipe asked for `recipe_metrics`.

    None means the recipe's own list (without method metrics its method does not define, which
    training ignored too). Raises ValueError with one line for the user: an unknown name (listing the
    valid ones), a method metric of another method, or win_rate for a run trained without it — its
    judge share of the data was never set aside, so the judge would see training or held-out text.
    """
    if requested is None:
        return [m for m in recipe_metrics if method in METHOD_METRICS.get(m, (method,))]
    names = list(dict.fromkeys(name.strip() for name in requested if name.strip()))
    unknown = [name for name in names if name not in ALL_METRICS]
    if unknown or not names:
        shown = ", ".join(unknown) if unknown else "(none)"
        raise ValueError(f"unknown metric {shown}: choose from {', '.join(ALL_METRICS)}")
    for name in names:
        methods = METHOD_METRICS.get(name)
        if methods and method not in methods:
            raise ValueError(
                f"{name} is only defined for {', '.join(methods)} runs; this run's method is {method}"
            )
    if "win_rate" in names and "win_rate" not in recipe_metrics:
        raise ValueError(
            "win_rate needs the judge's share of the data, which this run did not set aside (its recipe"
            " has no win_rate in evaluation.metrics): train a new run with win_rate to measure it"
        )
    return names
