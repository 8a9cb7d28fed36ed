"""Held-out preference metrics (methods.md §7 E1 ranking accuracy, E3 implicit-reward accuracy/margin).

Pure functions of per-pair summed log-probs, so each is tested by hand on small lists. Inputs are
sequences of (chosen, rejected) tuples; "base" means the adapter disabled, "policy" enabled.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist

Pair = tuple[float, float]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (better than the normal one near 0 and 1 and for small n)."""
    if n == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_mean_interval(
    values: Sequence[float], confidence: float = 0.95, samples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    if not values:
        return (math.nan, math.nan)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(samples))
    low = means[int((1 - confidence) / 2 * (samples - 1))]
    high = means[int((1 + confidence) / 2 * (samples - 1))]
    return (low, high)


def _proportion(name: str, hits: Sequence[bool], confidence: float) -> dict[str, float]:
    n = len(hits)
    k = sum(hits)
    low, high = wilson_interval(k, n, confidence)
    return {name: k / n if n else math.nan, f"{name}_ci_low": low, f"{name}_ci_high": high}


def ranking_correct(logps: Sequence[Pair], lengths: Sequence[Pair] | None = None) -> list[bool]:
    """E1: 1[π(y_w|x) ≥ π(y_l|x)]; with lengths, on the mean per-token log-prob (R̃)."""
    if lengths is None:
        return [w >= lo for w, lo in logps]
    return [w / max(lw, 1) >= lo / max(ll, 1) for (w, lo), (lw, ll) in zip(logps, lengths, strict=True)]


def transition_table(before: Sequence[bool], after: Sequence[bool]) -> dict[str, float]:
    """E1's 4-way table and the flip rate (incorrect→correct as a share of the base's mistakes)."""
    cells = {
        "correct_to_correct": 0,
        "correct_to_incorrect": 0,
        "incorrect_to_correct": 0,
        "incorrect_to_incorrect": 0,
    }
    for b, a in zip(before, after, strict=True):
        cells[f"{'correct' if b else 'incorrect'}_to_{'correct' if a else 'incorrect'}"] += 1
    wrong_before = cells["incorrect_to_correct"] + cells["incorrect_to_incorrect"]
    flip = cells["incorrect_to_correct"] / wrong_before if wrong_before else math.nan
    return {**{f"transition_{k}": float(v) for k, v in cells.items()}, "flip_rate": flip}


def implicit_rewards(base: Sequence[Pair], policy: Sequence[Pair], beta: float) -> list[Pair]:
    """r̂ = β·(log π_θ − log π_ref) for chosen and rejected of each pair."""
    return [(beta * (pw - bw), beta * (pl - bl)) for (bw, bl), (pw, pl) in zip(base, policy, strict=True)]


def preference_metrics(
    base: Sequence[Pair],
    policy: Sequence[Pair],
    lengths: Sequence[Pair],
    *,
    beta: float,
    confidence: float = 0.95,
    bootstrap_samples: int = 1000,
) -> dict[str, float]:
    """E1 before/after (plain and length-normalised, transitions) and E3 on the same held-out pairs."""
    if not base:
        raise ValueError("no held-out pairs to evaluate: raise heldout_fraction or give data.heldout_path")
    before, after = ranking_correct(base), ranking_correct(policy)
    rewards = implicit_rewards(base, policy, beta)
    margins = [w - lo for w, lo in rewards]
    out: dict[str, float] = {"heldout_pairs": float(len(base))}
    out |= _proportion("ranking_accuracy_before", before, confidence)
    out |= _proportion("ranking_accuracy_after", after, confidence)
    out |= _proportion("ranking_accuracy_ln_before", ranking_correct(base, lengths), confidence)
    out |= _proportion("ranking_accuracy_ln_after", ranking_correct(policy, lengths), confidence)
    out |= transition_table(before, after)
    # Strict '>' as in TRL: before training every reward is exactly 0, which counts as a miss (§0.5).
    out |= _proportion("reward_accuracy", [m > 0 for m in margins], confidence)
    low, high = bootstrap_mean_interval(margins, confidence, bootstrap_samples)
    out |= {
        "reward_margin": sum(margins) / len(margins),
        "reward_margin_ci_low": low,
        "reward_margin_ci_high": high,
    }
    out["reward_chosen"] = sum(w for w, _ in rewards) / len(rewards)
    out["reward_rejected"] = sum(lo for _, lo in rewards) / len(rewards)
    out |= _proportion("longer_wins_baseline", [lw > ll for lw, ll in lengths], confidence)
    return out
