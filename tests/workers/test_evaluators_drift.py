"""E4 against hand computations (methods.md §7 E4)."""

import math

import pytest

from workers.evaluators.drift import dispersion, drastic_drop_ratios, drift_deltas, drift_metrics

BASE = [(-10.0, -12.0), (-8.0, -9.0), (-5.0, -6.0), (-7.0, -7.0)]
POLICY = [(-11.0, -15.0), (-7.0, -10.0), (-5.0, -8.0), (-8.0, -6.0)]
LENGTHS = [(2, 3), (4, 1), (5, 2), (1, 1)]


def test_deltas_are_policy_minus_base():
    assert drift_deltas(BASE, POLICY) == [(-1.0, -3.0), (1.0, -1.0), (0.0, -2.0), (-1.0, 1.0)]


def test_drift_metrics_by_hand():
    m = drift_metrics(BASE, POLICY, LENGTHS)
    assert m["e4_delta_chosen_mean"] == pytest.approx(-0.25)  # (−1 + 1 + 0 − 1) / 4
    assert m["e4_delta_chosen_median"] == pytest.approx(-0.5)  # −1, −1, 0, 1
    assert m["e4_delta_rejected_mean"] == pytest.approx(-1.25)
    assert m["e4_delta_rejected_median"] == pytest.approx(-1.5)  # −3, −2, −1, 1
    assert m["e4_delta_chosen_per_token_mean"] == pytest.approx(-0.3125)  # −0.5, 0.25, 0, −1
    assert m["e4_delta_chosen_per_token_median"] == pytest.approx(-0.25)
    assert m["e4_delta_rejected_per_token_mean"] == pytest.approx(-0.5)  # −1, −1, −1, 1
    assert m["e4_delta_rejected_per_token_median"] == pytest.approx(-1.0)
    assert m["e4_displacement_rate"] == 0.5  # pairs 0 and 3
    assert m["e4_both_decrease_rate"] == 0.25  # pair 0 only
    assert m["e4_drastic_drop_ratio_median"] == 1.0  # 3, 1, 1 (pair 2 has δ_w = 0)
    assert m["e4_drastic_drop_pairs"] == 3


def test_drastic_drop_guards_zero_chosen_drift():
    assert drastic_drop_ratios([(0.0, -2.0), (0.0, 1.0)]) == []
    m = drift_metrics([(-1.0, -1.0)], [(-1.0, -3.0)], [(1, 1)])
    assert math.isnan(m["e4_drastic_drop_ratio_median"]) and m["e4_drastic_drop_pairs"] == 0
    assert m["e4_displacement_rate"] == 0.0


def test_dispersion_by_hand():
    m = dispersion([0.5, -1.0, 2.0])
    assert m == {
        "e4_dispersion_mean": pytest.approx(0.5),
        "e4_dispersion_median": 0.5,
        "e4_dispersion_rise_rate": pytest.approx(2 / 3),
        "e4_dispersion_responses": 3.0,
    }


def test_empty_and_zero_length_inputs_are_refused():
    with pytest.raises(ValueError, match="E4: no held-out pairs"):
        drift_metrics([], [], [])
    with pytest.raises(ValueError, match="pair 0 has a zero-length chosen response"):
        drift_metrics(BASE[:1], POLICY[:1], [(0, 3)])
    with pytest.raises(ValueError, match="no unseen responses"):
        dispersion([])
