"""Krippendorff's α from the coincidence matrix, for nominal, ordinal and interval data.

Reference: K. Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011, Annenberg School for
Communication, departmental paper 43), §C–§E; and Content Analysis (3rd ed., 2013), ch. 12. Written from
those definitions; the PyPI package `krippendorff` serves only as the independent check in the tests.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from annotation.agreement.data import Matrix, Value, matrix_units, pairable_units

Level = Literal["nominal", "ordinal", "interval"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")
Coincidences = dict[tuple[int, int], float]


@dataclass(frozen=True)
class AlphaResult:
    """α with what it was computed from; `alpha` is NaN exactly when `reason` says why it is undefined."""

    alpha: float
    level: Level
    n_units: int  # pairable units (items with ≥ 2 values)
    n_values: int  # pairable values, n in the formulas
    observed_disagreement: float
    expected_disagreement: float
    reason: str | None = None


def sorted_categories(values: Iterable[Value]) -> list[Value]:
    """Distinct values in scale order; numbers before strings so that a mixed nominal set still sorts."""
    return sorted(set(values), key=lambda v: (isinstance(v, str), v))


def coincidence_matrix(units: Iterable[Sequence[Value]]) -> tuple[list[Value], Coincidences]:
    """The coincidence matrix o_ck over pairable units (Krippendorff 2011, §C).

    o_ck = Σ_u Σ_{i≠j} [v_ui = c][v_uj = k] / (m_u − 1), i.e. every ordered pair of values inside a unit
    counts 1/(m_u − 1), so each pairable value contributes exactly 1 to its row margin n_c.
    Units with fewer than two values must already be removed. Returns (categories, {(c, k): o_ck}) with
    c, k indices into the categories; zero cells are left out.
    """
    units = list(units)
    categories = sorted_categories(v for unit in units for v in unit)
    index = {value: i for i, value in enumerate(categories)}
    o: Coincidences = {}
    for unit in units:
        weight = 1.0 / (len(unit) - 1)
        counts = Counter(index[v] for v in unit)
        for c, n_uc in counts.items():
            for k, n_uk in counts.items():
                # Ordered pairs of distinct values: n_uc·n_uk across categories, n_uc·(n_uc − 1) within one.
                pairs = n_uc * (n_uk - 1) if c == k else n_uc * n_uk
                if pairs:
                    o[(c, k)] = o.get((c, k), 0.0) + pairs * weight
    return categories, o


def difference_function(
    level: Level, categories: Sequence[Value], margins: Sequence[float]
) -> Callable[[int, int], float]:
    """The squared difference δ²_ck by category index (Krippendorff 2011, §E).

    nominal: δ² = 0 if c = k else 1.
    ordinal: δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², n_g the coincidence margins (ranks, not values).
    interval: δ² = (c − k)², on the numeric values.
    """
    if level == "nominal":
        return lambda c, k: 0.0 if c == k else 1.0
    if level == "ordinal":
        cumulative = [0.0]
        for n_g in margins:
            cumulative.append(cumulative[-1] + n_g)

        def ordinal(c: int, k: int) -> float:
            low, high = min(c, k), max(c, k)
            between = cumulative[high + 1] - cumulative[low]
            return (between - (margins[low] + margins[high]) / 2) ** 2

        return ordinal
    if level == "interval":
        numbers = [_as_number(v) for v in categories]
        return lambda c, k: (numbers[c] - numbers[k]) ** 2
    raise ValueError(f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}")


def alpha_result(units: Iterable[Sequence[Value | None]] | Matrix, level: Level = "nominal") -> AlphaResult:
    """Krippendorff's α = 1 − D_o / D_e with its parts (Krippendorff 2011, §C–§E).

    D_o = (1/n) Σ_c Σ_k o_ck δ²_ck and D_e = 1/(n(n − 1)) Σ_c Σ_k n_c n_k δ²_ck, where n_c are the margins
    of the coincidence matrix and n = Σ n_c the number of pairable values. `units` is a list of per-item
    value lists (None = missing) or a reliability matrix {annotator: {item: value}}.
    Raises ValueError when no unit is pairable; returns α = NaN with a reason when only one category
    was used (D_e = 0: there is no variation to tell agreement from chance).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}")
    raw = list(matrix_units(units).values()) if isinstance(units, Mapping) else list(units)
    pairable = pairable_units(raw)
    if not pairable:
        raise ValueError(
            f"Krippendorff's α needs at least one pairable item (values from two or more annotators); "
            f"got {len(raw)} items and none has two values"
        )
    categories, o = coincidence_matrix(pairable)
    margins = [0.0] * len(categories)
    for (c, _k), count in o.items():
        margins[c] += count
    n = math.fsum(margins)
    delta = difference_function(level, categories, margins)
    observed = math.fsum(count * delta(c, k) for (c, k), count in o.items()) / n
    expected = _expected_disagreement(margins, delta) / (n * (n - 1))
    common = dict(level=level, n_units=len(pairable), n_values=round(n), expected_disagreement=expected)
    if expected == 0:
        reason = (
            f"all {round(n)} pairable values are {categories[0]!r}: with a single category α is undefined "
            "(there is no variation to tell agreement from chance)"
        )
        return AlphaResult(alpha=math.nan, observed_disagreement=observed, reason=reason, **common)
    return AlphaResult(alpha=1.0 - observed / expected, observed_disagreement=observed, **common)


def krippendorff_alpha(units: Iterable[Sequence[Value | None]] | Matrix, level: Level = "nominal") -> float:
    """Krippendorff's α = 1 − D_o / D_e (see `alpha_result`, which also says why α may be NaN)."""
    return alpha_result(units, level).alpha


def _expected_disagreement(margins: Sequence[float], delta: Callable[[int, int], float]) -> float:
    """Σ_c Σ_k n_c n_k δ²_ck; δ is symmetric and δ_cc = 0, so sum the upper triangle twice."""
    size = len(margins)
    return 2.0 * math.fsum(
        margins[c] * margins[k] * delta(c, k) for c in range(size) for k in range(c + 1, size)
    )


def _as_number(value: Value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"interval α needs numeric values, got {value!r}; use level='nominal' or 'ordinal'")
    return float(value)
