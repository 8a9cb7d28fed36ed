"""Input checks shared by the evaluators: one clear message instead of a NaN three functions later."""

from __future__ import annotations

import math
from collections.abc import Sequence

Pair = tuple[float, float]


def require_pairs(metric: str, pairs: Sequence, *others: Sequence) -> None:
    """Non-empty, and every parallel list has the same length."""
    if not pairs:
        raise ValueError(f"{metric}: no held-out pairs to evaluate (the input is empty)")
    for other in others:
        if len(other) != len(pairs):
            raise ValueError(f"{metric}: {len(pairs)} pairs but a parallel input has {len(other)} entries")


def require_lengths(metric: str, lengths: Sequence[Pair]) -> None:
    """Every response has at least one token: per-token values divide by |y|."""
    for index, (chosen, rejected) in enumerate(lengths):
        if chosen <= 0 or rejected <= 0:
            side = "chosen" if chosen <= 0 else "rejected"
            raise ValueError(f"{metric}: pair {index} has a zero-length {side} response; drop or fix it")


def median(values: Sequence[float]) -> float:
    """Middle value (mean of the two middle ones for an even count); NaN when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return math.nan
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan
