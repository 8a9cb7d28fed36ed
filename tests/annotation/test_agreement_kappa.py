"""Cohen's κ against hand-worked examples and a separate confusion-matrix implementation."""

import itertools
import math
import random
from fractions import Fraction as F

import pytest

from annotation.agreement import cohen_kappa, pairwise_kappa


def _confusion_kappa(a: list, b: list, weights: str | None = None) -> float:
    """The textbook route: confusion matrix, agreement weights 1 − w, κ = (p_o − p_e) / (1 − p_e)."""
    scale = sorted(set(a) | set(b))
    size, n = len(scale), len(a)
    table = [[0] * size for _ in scale]
    for x, y in zip(a, b, strict=True):
        table[scale.index(x)][scale.index(y)] += 1
    rows = [sum(r) for r in table]
    cols = [sum(table[i][j] for i in range(size)) for j in range(size)]

    def agree(i: int, j: int) -> float:
        distance = abs(i - j) / max(size - 1, 1)
        return {None: float(i == j), "linear": 1 - distance, "quadratic": 1 - distance**2}[weights]

    cells = list(itertools.product(range(size), repeat=2))
    p_o = sum(agree(i, j) * table[i][j] for i, j in cells) / n
    p_e = sum(agree(i, j) * rows[i] * cols[j] for i, j in cells) / n**2
    return (p_o - p_e) / (1 - p_e)


def test_two_by_two_hand_example():
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5) / 0.5 = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)
    assert _confusion_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


# 3×3 table [[2,1,0],[0,2,1],[0,0,2]] (rows A, columns B), n = 8, margins A (3,3,2), B (2,3,3):
# unweighted κ = (48/64 − 21/64) / (43/64) = 27/43; linear 1 − (1/8)/(28/64) = 5/7;
# quadratic 1 − (1/16)/(20.5/64) = 33/41.
THREE_A = [1, 1, 1, 2, 2, 2, 3, 3]
THREE_B = [1, 1, 2, 2, 2, 3, 3, 3]


@pytest.mark.parametrize(
    ("weights", "expected"), [(None, F(27, 43)), ("linear", F(5, 7)), ("quadratic", F(33, 41))]
)
def test_three_category_hand_example(weights, expected):
    assert cohen_kappa(THREE_A, THREE_B, weights) == pytest.approx(float(expected), abs=1e-12)


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_equals_the_confusion_matrix_formula(seed, weights):
    rng = random.Random(seed)
    n, scale = rng.randint(5, 80), rng.randint(2, 6)
    a = [rng.randint(1, scale) for _ in range(n)]
    b = [x if rng.random() < 0.5 else rng.randint(1, scale) for x in a]
    if len(set(a) | set(b)) < 2:
        pytest.skip("a one-category draw")
    assert cohen_kappa(a, b, weights) == pytest.approx(_confusion_kappa(a, b, weights), abs=1e-9)


def test_mappings_are_aligned_on_shared_labelled_items():
    a = {"i1": "x", "i2": "y", "i3": "x", "i4": None}
    b = {"i2": "y", "i1": "x", "i4": "y", "i5": "x"}
    assert cohen_kappa(a, b) == 1.0  # only i1 and i2 count


def test_undefined_and_invalid_inputs():
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))
    with pytest.raises(ValueError, match="both"):
        cohen_kappa({"i1": 1}, {"i2": 1})
    with pytest.raises(ValueError, match="length"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(ValueError, match="categories"):
        cohen_kappa([1, 2], [1, 3], categories=[1, 2])
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa([1, 2], [1, 2], weights="cubic")


def test_pairwise_table_counts_shared_items_and_skips_strangers():
    matrix = {
        "bo": {"i1": 1, "i2": 2, "i3": 3},
        "al": {"i1": 1, "i2": 2, "i3": 2, "i4": 1},
        "cy": {"i5": 3, "i4": 1},
    }
    table = pairwise_kappa(matrix)
    assert set(table) == {("al", "bo"), ("al", "cy")}
    assert table[("al", "bo")].n == 3
    assert table[("al", "bo")].kappa == pytest.approx(cohen_kappa(matrix["al"], matrix["bo"]))
    assert table[("al", "cy")].n == 1


def test_pairwise_weights_use_the_whole_question_scale():
    # The pair al–bo used 1, 2 and 4 (three evenly spaced positions alone), but cy's 3 puts 4 one step
    # further away on the question's scale.
    matrix = {
        "al": {"i1": 1, "i2": 2, "i3": 4, "i4": 2},
        "bo": {"i1": 2, "i2": 2, "i3": 4, "i4": 4},
        "cy": {"i5": 3, "i1": 3},
    }
    expected = cohen_kappa(matrix["al"], matrix["bo"], "linear", categories=[1, 2, 3, 4])
    assert pairwise_kappa(matrix, "linear")[("al", "bo")].kappa == pytest.approx(expected)
    assert expected != pytest.approx(cohen_kappa(matrix["al"], matrix["bo"], "linear"))
