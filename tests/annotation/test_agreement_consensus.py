"""Annotator-vs-consensus (leave-one-out majority / median) and Spearman's ρ on hand examples."""

import math

import pytest

from annotation.agreement import consensus_scores, spearman
from annotation.agreement.consensus import average_ranks, majority


def test_nominal_majority_of_the_others():
    matrix = {
        "a": {"i1": "x", "i2": "y", "i3": "x"},
        "b": {"i1": "x", "i2": "x", "i3": "x"},
        "c": {"i1": "x", "i2": "x", "i3": "y", "i4": "x"},
    }
    scores = consensus_scores(matrix, "nominal")
    # a: i1 others (x, x) agree; i2 others (x, x) vs y disagree; i3 others (x, y) tie → not scored.
    assert (scores["a"].n_items, scores["a"].n_no_consensus, scores["a"].agreement_rate) == (2, 1, 0.5)
    # b: i1 agree; i2 (y, x) and i3 (x, y) tie.
    assert (scores["b"].n_items, scores["b"].n_no_consensus, scores["b"].agreement_rate) == (1, 2, 1.0)
    # c: i1 agree; i2 (y, x) tie; i3 (x, x) vs y disagree; i4 nobody else → not counted at all.
    assert (scores["c"].n_items, scores["c"].n_no_consensus, scores["c"].agreement_rate) == (2, 1, 0.5)
    assert scores["a"].mean_abs_deviation is None and scores["a"].spearman is None


def test_ordinal_median_of_the_others():
    matrix = {
        "a": {"i1": 1, "i2": 3, "i3": 5},
        "b": {"i1": 2, "i2": 3, "i3": 4},
        "c": {"i1": 2, "i2": 4, "i3": 5, "i4": 1},
    }
    a = consensus_scores(matrix, "ordinal")["a"]
    # medians of b and c: 2, 3.5, 4.5 → |deviations| 1, 0.5, 0.5; same order as a's values → ρ = 1.
    assert a.n_items == 3
    assert a.mean_abs_deviation == pytest.approx(2 / 3)
    assert a.spearman == pytest.approx(1.0)
    assert a.agreement_rate is None


def test_leave_one_out_excludes_the_annotator_from_their_consensus():
    # With the annotator included, the median of (1, 5, 5) would be 5 for "a" too; without: 5 vs a's 1.
    matrix = {"a": {"i1": 1}, "b": {"i1": 5}, "c": {"i1": 5}}
    assert consensus_scores(matrix, "ordinal")["a"].mean_abs_deviation == 4


def test_spearman_with_ties_by_hand():
    # ranks of y = (1, 3, 3, 2) are (1, 3.5, 3.5, 2); Pearson of ranks = 1.5 / sqrt(5 · 4.5) = 1/sqrt(10).
    assert average_ranks([1, 3, 3, 2]) == [1, 3.5, 3.5, 2]
    assert spearman([1, 2, 3, 4], [1, 3, 3, 2]) == pytest.approx(1 / math.sqrt(10), abs=1e-12)
    assert spearman([1, 2, 3], [9, 5, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2, 3], [4, 4, 4]))
    assert math.isnan(spearman([1], [1]))


def test_majority_ties_have_no_winner():
    assert majority(["x", "y", "x"]) == "x"
    assert majority(["x", "y"]) is None
