"""Small pure statistics for the report: Spearman's ρ (average ranks for ties) and histogram counts."""

from __future__ import annotations

from collections.abc import Sequence

from recipes.statistics import average_ranks, pearson

__all__ = ["average_ranks", "histogram", "pearson", "spearman"]


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
