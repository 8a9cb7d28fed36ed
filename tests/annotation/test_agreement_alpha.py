"""Krippendorff's α against Krippendorff's own worked example, recomputed by hand, and the edge cases."""

import math
from fractions import Fraction as F

import pytest

from annotation.agreement import alpha_result, coincidence_matrix, krippendorff_alpha
from annotation.agreement.data import pairable_units

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", §E: 4 observers × 12 units.
OBSERVERS = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    "C": [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
}
UNITS = [list(values) for values in zip(*OBSERVERS.values(), strict=True)]

# The coincidence matrix worked out by hand, unit by unit (o_ck += pairs / (m_u − 1)):
# u1 {1,1,1}: o11 += 3 · u2 {2,3,2,2}: o22 += 2, o23 = o32 += 1 · u3, u4 {3,3,3,3}: o33 += 4 each ·
# u5, u9 {2,2,2,2}: o22 += 4 each · u6 {1,2,3,4}: every off-diagonal cell += 1/3 · u7 {4,4,4,4}: o44 += 4 ·
# u8 {1,1,2,1}: o11 += 2, o12 = o21 += 1 · u10 {5,5,5}: o55 += 3 · u11 {1,1}: o11 += 2 ·
# u12: one value, unpairable.
T = F(1, 3)
HAND = {
    (1, 1): F(7), (1, 2): 1 + T, (1, 3): T, (1, 4): T,
    (2, 2): F(10), (2, 3): 1 + T, (2, 4): T,
    (3, 3): F(8), (3, 4): T,
    (4, 4): F(4),
    (5, 5): F(3),
}  # fmt: skip
HAND.update({(k, c): v for (c, k), v in list(HAND.items())})
MARGINS = {c: sum(v for (row, _), v in HAND.items() if row == c) for c in range(1, 6)}


def _hand_alpha(delta) -> F:
    n = sum(MARGINS.values())
    d_o = sum(v * delta(c, k) for (c, k), v in HAND.items())
    d_e = sum(MARGINS[c] * MARGINS[k] * delta(c, k) for c in MARGINS for k in MARGINS)
    return 1 - (n - 1) * d_o / d_e


def _ordinal_delta(c: int, k: int) -> F:
    low, high = min(c, k), max(c, k)
    return (sum(MARGINS[g] for g in range(low, high + 1)) - (MARGINS[c] + MARGINS[k]) / 2) ** 2


HAND_ALPHA = {
    "nominal": _hand_alpha(lambda c, k: F(int(c != k))),
    "ordinal": _hand_alpha(_ordinal_delta),
    "interval": _hand_alpha(lambda c, k: F((c - k) ** 2)),
}


def test_the_hand_margins_are_the_papers():
    assert MARGINS == {1: 9, 2: 13, 3: 10, 4: 5, 5: 3}
    assert HAND_ALPHA["nominal"] == 1 - F(39 * 8, 1600 - 384)


def test_coincidence_matrix_equals_the_hand_computation():
    categories, o = coincidence_matrix(pairable_units(UNITS))
    assert categories == [1, 2, 3, 4, 5]
    computed = {(categories[c], categories[k]): v for (c, k), v in o.items()}
    assert computed.keys() == HAND.keys()
    for cell, value in HAND.items():
        assert computed[cell] == pytest.approx(float(value), abs=1e-12), cell


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_worked_example_matches_hand_and_published_values(level, published):
    result = alpha_result(UNITS, level)
    assert result.alpha == pytest.approx(float(HAND_ALPHA[level]), abs=1e-12)
    assert round(result.alpha, 3) == published
    assert (result.n_units, result.n_values, result.reason) == (11, 40, None)


def test_a_reliability_matrix_gives_the_same_alpha_as_units():
    matrix = {name: {f"u{i}": v for i, v in enumerate(values)} for name, values in OBSERVERS.items()}
    assert krippendorff_alpha(matrix, "ordinal") == pytest.approx(float(HAND_ALPHA["ordinal"]), abs=1e-12)


def test_perfect_agreement_is_one():
    assert krippendorff_alpha([[1, 1, None], [2, 2, 2], [3, 3]], "ordinal") == 1.0
    assert krippendorff_alpha([["a", "a"], ["b", "b"]], "nominal") == 1.0


def test_systematic_disagreement_is_below_zero():
    assert krippendorff_alpha([[1, 2], [2, 1], [1, 2], [2, 1]], "nominal") < 0


def test_no_pairable_unit_is_a_clear_error():
    with pytest.raises(ValueError, match="pairable"):
        krippendorff_alpha([[1, None], [None, 2], [3]], "nominal")


def test_a_single_category_gives_nan_with_a_reason():
    result = alpha_result([[4, 4], [4, 4, 4], [4, None]], "ordinal")
    assert math.isnan(result.alpha)
    assert "single category" in result.reason and "4" in result.reason


def test_interval_needs_numbers_and_levels_are_checked():
    with pytest.raises(TypeError, match="numeric"):
        krippendorff_alpha([["a", "b"], ["b", "b"]], "interval")
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1, 2]], "ratio")


def test_nan_counts_as_missing():
    assert krippendorff_alpha([[1, 1, float("nan")], [2, 2]], "nominal") == 1.0
