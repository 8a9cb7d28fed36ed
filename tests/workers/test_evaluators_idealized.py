"""E2 against hand computations (methods.md §7 E2)."""

import math

import pytest

from workers.evaluators.idealized import (
    idealized_correct,
    idealized_metrics,
    ranking_correct_with_ties,
    rater_proportions,
    required_losses,
)


def test_rater_proportions_priority_clipping_and_estimated_flag():
    alphas, estimated = rater_proportions(4, [0.7, None, 1.0, 0.0], [None, 0.6, None, None])
    assert alphas == pytest.approx([0.7, 0.6, 0.999, 0.001])  # votes, soft label, clipped to [ε, 1−ε]
    assert estimated is True  # pair 1 had no vote share
    assert rater_proportions(2, [0.7, 0.2]) == ([0.7, 0.2], False)
    assert rater_proportions(1) == ([0.999], True)  # hard label only
    with pytest.raises(ValueError, match="pair 0 has rater proportion 1.5"):
        rater_proportions(1, [1.5])


def test_idealized_correct_by_hand():
    base = [(-10.0, -12.0), (-12.0, -10.0), (-12.0, -10.0)]
    alphas = [0.6, 0.9, 0.999]
    # β=1: 2 + ln 1.5 > 0; −2 + ln 9 = 0.197 > 0; −2 + ln 999 > 0
    assert idealized_correct(base, alphas, 1.0) == [True, True, True]
    # β=10: −2 + ln(9)/10 < 0; −2 + ln(999)/10 = −1.31 < 0
    assert idealized_correct(base, alphas, 10.0) == [True, False, False]


def test_idealized_length_normalised_uses_mean_log_probs():
    base, lengths = [(-20.0, -12.0)], [(10, 4)]  # means −2 vs −3: +1
    assert idealized_correct(base, [0.001], 1.0, lengths) == [False]  # 1 + ln(0.001/0.999) = −5.9
    assert idealized_correct(base, [0.001], 10.0, lengths) == [True]  # 1 − 0.69
    assert idealized_correct(base, [0.001], 10.0) == [False]  # summed: −8 − 0.69


def test_ties_use_the_e1_rule_in_probability_space():
    logps = [(-1.0, -1.005), (-0.1, -2.0), (-50.0, -20.0)]
    # |e^-1 − e^-1.005| = 0.0018 < 0.01; |0.905 − 0.135| ≥ 0.01; both probabilities ≈ 0
    assert ranking_correct_with_ties(logps, [0.5] * 3) == [True, False, True]
    assert idealized_correct(logps, [0.5] * 3, 1.0) == [True, False, True]
    assert ranking_correct_with_ties(logps, [0.9] * 3) == [True, True, False]  # plain ≥ without ties


def test_required_losses_by_hand():
    losses = required_losses([(-10.0, -12.0), (-12.0, -10.0), (-5.0, -5.0)], beta=0.1)
    # c = l − w: −2 → −log σ(−0.2) = ln(1 + e^0.2); +2 → ln(1 + e^−0.2); 0 → ln 2
    assert losses == pytest.approx([0.798139, 0.598139, math.log(2)], abs=1e-6)
    extreme = required_losses([(0.0, 1000.0), (1000.0, 0.0)], beta=1.0)  # no overflow either way
    assert extreme[0] == pytest.approx(0.0, abs=1e-300) and extreme[1] == pytest.approx(1000.0)


BASE = [(-10.0, -12.0), (-12.0, -10.0), (-11.0, -11.0)]
POLICY = [(-9.0, -13.0), (-13.0, -10.0), (-11.0, -11.0)]
LENGTHS = [(5, 6), (4, 2), (3, 3)]
ALPHA = [0.8, 0.9, 0.5]


def test_idealized_metrics_known_beta():
    m = idealized_metrics(BASE, POLICY, LENGTHS, alpha=ALPHA, beta=1.0)
    # R (policy): ✓, ✗ (−13 < −10), tie with equal probabilities ✓ → 2/3; R̃: −1.8>−2.17, −3.25>−5, tie → 1
    assert m["e2_ranking_accuracy"] == pytest.approx(2 / 3)
    assert m["e2_ranking_accuracy_ln"] == 1.0
    # R*: 2 + ln 4 > 0, −2 + ln 9 > 0, tie ✓ → 1; R̃*: 0 + ln 4, 2 + ln 9, tie → 1
    assert m["e2_idealized_accuracy"] == 1.0 and m["e2_idealized_accuracy_ln"] == 1.0
    assert m["e2_alignment_gap"] == pytest.approx(1 / 3)
    assert m["e2_alignment_gap_ln"] == 0.0
    assert m["e2_estimated"] is False and m["e2_tie_pairs"] == 1
    # β=1: c = −2, 2, 0 → softplus(2), softplus(−2), ln 2; median ln 2; hard (< 0.1): none
    assert m["e2_required_loss_median"] == pytest.approx(math.log(2))
    assert m["e2_hard_pairs"] == 0 and m["e2_reference_wrong_pairs"] == 1
    assert (
        idealized_metrics(BASE, POLICY, LENGTHS, alpha=ALPHA, beta=1.0, hard_loss=0.2)["e2_hard_pairs"] == 1
    )


def test_idealized_metrics_unknown_beta_reports_min_median_max_over_the_grid():
    m = idealized_metrics(BASE, POLICY, LENGTHS, alpha=ALPHA)
    # pair 1: −2 + ln(9)/β > 0 only for β ∈ {0.01, 0.1, 1} → R* per β = 1, 1, 1, 2/3, 2/3
    assert m["e2_idealized_accuracy_min"] == pytest.approx(2 / 3)
    assert m["e2_idealized_accuracy_median"] == 1.0 and m["e2_idealized_accuracy_max"] == 1.0
    assert m["e2_alignment_gap_min"] == pytest.approx(0.0)
    assert m["e2_alignment_gap_median"] == pytest.approx(1 / 3)
    assert m["e2_idealized_accuracy_ln_min"] == 1.0  # per-token margins +0 and +2 never lose
    assert m["e2_required_loss_beta"] == 1.0
    assert "e2_idealized_accuracy" not in m


def test_soft_labels_flag_estimated_and_all_ties():
    m = idealized_metrics(BASE, POLICY, LENGTHS, soft_labels=[0.8, 0.9, 0.5], beta=1.0)
    assert m["e2_estimated"] is True and m["e2_idealized_accuracy"] == 1.0
    logps = [(-1.0, -1.005), (-0.1, -2.0)]
    ties = idealized_metrics(logps, logps, [(1, 1), (1, 1)], alpha=[0.5, 0.5], beta=0.1)
    assert ties["e2_tie_pairs"] == 2
    assert ties["e2_ranking_accuracy"] == 0.5 and ties["e2_idealized_accuracy"] == 0.5
    assert ties["e2_alignment_gap"] == 0.0


def test_empty_and_zero_length_inputs_are_refused():
    with pytest.raises(ValueError, match="E2: no held-out pairs"):
        idealized_metrics([], [], [], beta=0.1)
    with pytest.raises(ValueError, match="pair 1 has a zero-length rejected response"):
        idealized_metrics(BASE, POLICY, [(5, 6), (4, 0), (3, 3)], beta=0.1)
    with pytest.raises(ValueError, match="3 pairs but a parallel input has 2"):
        idealized_metrics(BASE, POLICY[:2], LENGTHS, beta=0.1)
