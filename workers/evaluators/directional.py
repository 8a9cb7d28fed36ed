"""E9: directional metrics (methods.md §7 E9) from judged comparisons, pure Python.

A comparison is one (prompt, target direction) where RPS's pick and the same-compute baseline's pick
were both scored by the held-out judge along the target. Win rates exclude ties (RPS protocol) and
report the count of decided comparisons; intervals bootstrap over prompts, because the comparisons of
one prompt (several directions, repeats) are not independent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from workers.evaluators.stats import spearman

TIE_MARGIN = 1e-9  # judge scores equal to float precision (e.g. the same text picked by both) are ties


@dataclass(frozen=True)
class Comparison:
    prompt: int  # index of the evaluation prompt
    target_deg: float
    rps: float  # judge's projected reward of RPS's pick along the target
    baseline: float  # … of the baseline's pick
    in_coverage: bool


def outcome(comparison: Comparison, tau: float = TIE_MARGIN) -> int:
    """1 RPS wins, 0 tie, −1 baseline wins."""
    gap = comparison.rps - comparison.baseline
    return 0 if abs(gap) <= tau else (1 if gap > 0 else -1)


def no_tie_win_rate(comparisons: Sequence[Comparison]) -> tuple[float, int, int, int]:
    """(wins / (wins + losses), wins, ties, losses); NaN when every comparison is a tie."""
    results = [outcome(c) for c in comparisons]
    wins, losses = results.count(1), results.count(-1)
    decided = wins + losses
    return (wins / decided if decided else math.nan), wins, results.count(0), losses


def bootstrap_over_prompts(
    comparisons: Sequence[Comparison], confidence: float = 0.95, samples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the no-tie win rate, resampling whole prompts."""
    by_prompt: dict[int, list[Comparison]] = {}
    for comparison in comparisons:
        by_prompt.setdefault(comparison.prompt, []).append(comparison)
    groups = list(by_prompt.values())
    if not groups:
        return math.nan, math.nan
    rng = random.Random(seed)
    rates = []
    for _ in range(samples):
        drawn = [c for _ in groups for c in rng.choice(groups)]
        rate = no_tie_win_rate(drawn)[0]
        if not math.isnan(rate):
            rates.append(rate)
    if not rates:
        return math.nan, math.nan
    rates.sort()
    tail = (1 - confidence) / 2
    return rates[int(tail * (len(rates) - 1))], rates[int(round((1 - tail) * (len(rates) - 1)))]


def _summary(comparisons: Sequence[Comparison], prefix: str, confidence: float) -> dict[str, float]:
    rate, wins, ties, losses = no_tie_win_rate(comparisons)
    low, high = bootstrap_over_prompts(comparisons, confidence)
    n = len(comparisons)
    return {
        f"{prefix}win_rate_no_ties": rate,
        f"{prefix}win_rate_ci_low": low,
        f"{prefix}win_rate_ci_high": high,
        f"{prefix}comparisons": float(n),
        f"{prefix}wins": float(wins),
        f"{prefix}ties": float(ties),
        f"{prefix}losses": float(losses),
        f"{prefix}projected_reward_rps": sum(c.rps for c in comparisons) / n if n else math.nan,
        f"{prefix}projected_reward_baseline": sum(c.baseline for c in comparisons) / n if n else math.nan,
    }


def directional_metrics(comparisons: Sequence[Comparison], confidence: float = 0.95) -> dict[str, float]:
    """Pooled over under-represented (outside the coverage) and in-coverage targets, plus the
    robustness gap J_ID − J_OOD of each side (how much the projected reward drops off coverage)."""
    ood = [c for c in comparisons if not c.in_coverage]
    covered = [c for c in comparisons if c.in_coverage]
    out = _summary(ood, "rps_ood_", confidence) | _summary(covered, "rps_id_", confidence)
    for side in ("rps", "baseline"):
        out[f"rps_robustness_gap_{side}"] = (
            out[f"rps_id_projected_reward_{side}"] - out[f"rps_ood_projected_reward_{side}"]
        )
    return out


def per_direction(comparisons: Sequence[Comparison], confidence: float = 0.95) -> list[dict[str, float]]:
    """One row per target angle: the table of the report's directional section."""
    angles = sorted({c.target_deg for c in comparisons})
    rows = []
    for angle in angles:
        subset = [c for c in comparisons if c.target_deg == angle]
        row = {"target_deg": angle, "in_coverage": float(subset[0].in_coverage)}
        rows.append(row | {k: v for k, v in _summary(subset, "", confidence).items()})
    return rows


def controllability(
    requested_deg: Sequence[float], mean_scores: Sequence[tuple[float, float]], centre: tuple[float, float]
) -> float:
    """Spearman ρ between requested angles and realised ones, atan2(r̄₂ − c₂, r̄₁ − c₁) (NaN below 3)."""
    if len(requested_deg) < 3:
        return math.nan
    realised = [math.degrees(math.atan2(s2 - centre[1], s1 - centre[0])) for s1, s2 in mean_scores]
    return spearman(list(requested_deg), realised)
