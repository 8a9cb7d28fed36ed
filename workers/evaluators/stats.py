"""Small pure statistics for the report: Spearman's ρ (average ranks for ties) and histogram counts."""

from __future__ import annotations

import math
from collections.abc import Sequence


def average_ranks(values: Sequence[float]) -> list[float]:
    """Rank 1 = smallest; a run of equal values shares the mean of the ranks it spans."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1  # ranks start..end (0-based) → their mean, 1-based
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """r = Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² Σ(y−ȳ)²); NaN when either side is constant."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """ρ = Pearson correlation of the average ranks of x and y (ties handled exactly)."""
    if len(x) != len(y):
        raise ValueError(f"spearman: {len(x)} values against {len(y)}")
    if len(x) < 2:
        raise ValueError("spearman: needs at least two pairs of values")
    return pearson(average_ranks(x), average_ranks(y))


def histogram(values: Sequence[float], bins: int = 10) -> dict[str, list[float] | list[int]]:
    """Equal-width bins over [min, max]; bin k holds lo + k·w ≤ v < lo + (k+1)·w, the last one closed."""
    if not values:
        raise ValueError("histogram: no values")
    if bins < 1:
        raise ValueError(f"histogram: bins must be >= 1, got {bins}")
    lo, hi = min(values), max(values)
    if lo == hi:  # one value repeated: a single zero-width bin holds everything
        return {"edges": [lo, hi], "counts": [len(values)]}
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return {"edges": [lo + k * width for k in range(bins)] + [hi], "counts": counts}
