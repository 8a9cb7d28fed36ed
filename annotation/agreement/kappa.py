"""Cohen's κ for two annotators (unweighted, or linear/quadratic weighted for ratings), and per pair.

References: J. Cohen, "A coefficient of agreement for nominal scales" (1960); J. Cohen, "Weighted kappa"
(Psychological Bulletin 70, 1968); Fleiss, Levin & Paik, Statistical Methods for Rates and Proportions
(3rd ed., 2003), §18.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from annotation.agreement.alpha import sorted_categories
from annotation.agreement.data import Matrix, Value

Weights = Literal["linear", "quadratic"] | None
Labels = Mapping[str, Value | None] | Sequence[Value | None]


@dataclass(frozen=True)
class PairKappa:
    """κ of one annotator pair on the `n` items both labelled (NaN when κ is undefined, see cohen_kappa)."""

    kappa: float
    n: int


def paired_values(a: Labels, b: Labels) -> list[tuple[Value, Value]]:
    """The (a, b) value pairs on items both annotators labelled.

    Mappings are aligned on their shared item ids; sequences position by position (equal length).
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        pairs = [(a[item], b[item]) for item in a if item in b]
    elif isinstance(a, Mapping) or isinstance(b, Mapping):
        raise TypeError("give both annotators as {item: value} mappings or both as equal-length sequences")
    else:
        if len(a) != len(b):
            raise ValueError(f"label sequences differ in length ({len(a)} and {len(b)})")
        pairs = list(zip(a, b, strict=True))
    return [(x, y) for x, y in pairs if x is not None and y is not None]


def disagreement_weight(i: int, j: int, n_categories: int, weights: Weights) -> float:
    """Cohen's (1968) disagreement weight w_ij for category indices i, j on a scale of C categories.

    None: w = [i ≠ j]; linear: |i − j| / (C − 1); quadratic: (i − j)² / (C − 1)².
    """
    if weights is None:
        return 0.0 if i == j else 1.0
    span = max(n_categories - 1, 1)
    if weights == "linear":
        return abs(i - j) / span
    if weights == "quadratic":
        return ((i - j) / span) ** 2
    raise ValueError(f"unknown kappa weights {weights!r}; use None, 'linear' or 'quadratic'")


def cohen_kappa(
    a: Labels, b: Labels, weights: Weights = None, categories: Sequence[Value] | None = None
) -> float:
    """Cohen's κ = 1 − Σ w_ij p_ij / Σ w_ij p_i· p_·j on the items both annotators labelled.

    p_ij is the joint distribution of (a, b) labels and p_i·, p_·j its margins; with w = [i ≠ j] this is
    the familiar κ = (p_o − p_e) / (1 − p_e) (Cohen 1960), with linear/quadratic w the weighted κ_w
    (Cohen 1968). Weights use category positions in `categories` (default: the sorted labels both
    annotators used). Returns NaN when κ is undefined (p_e = 1: both used one and the same category only).
    """
    pairs = paired_values(a, b)
    if not pairs:
        raise ValueError("Cohen's κ needs at least one item labelled by both annotators")
    scale = (
        list(categories) if categories is not None else sorted_categories(v for pair in pairs for v in pair)
    )
    index = {value: i for i, value in enumerate(scale)}
    unknown = {v for pair in pairs for v in pair} - set(index)
    if unknown:
        raise ValueError(f"labels {sorted(map(repr, unknown))} are not in the given categories {scale!r}")
    n = len(pairs)
    joint = Counter((index[x], index[y]) for x, y in pairs)
    row = Counter(index[x] for x, _ in pairs)
    col = Counter(index[y] for _, y in pairs)
    size = len(scale)
    observed = (
        math.fsum(count * disagreement_weight(i, j, size, weights) for (i, j), count in joint.items()) / n
    )
    expected = math.fsum(
        row[i] * col[j] * disagreement_weight(i, j, size, weights) for i in row for j in col
    ) / (n * n)
    if expected == 0:
        return math.nan
    return 1.0 - observed / expected


def pairwise_kappa(matrix: Matrix, weights: Weights = None) -> dict[tuple[str, str], PairKappa]:
    """Cohen's κ for every annotator pair (sorted names) that labelled at least one item in common.

    The weight scale is the question's whole set of labels, so every pair is weighted on the same scale.
    Pairs without a shared item are left out: with Argilla's overlap distribution most pairs never meet.
    """
    rows = {name: {item: v for item, v in row.items() if v is not None} for name, row in matrix.items()}
    scale = sorted_categories(v for row in rows.values() for v in row.values())
    table: dict[tuple[str, str], PairKappa] = {}
    for first, second in itertools.combinations(sorted(rows), 2):
        n = len(rows[first].keys() & rows[second].keys())
        if n:
            kappa = cohen_kappa(rows[first], rows[second], weights, categories=scale)
            table[(first, second)] = PairKappa(kappa=kappa, n=n)
    return table
