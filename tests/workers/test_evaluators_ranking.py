import math

import pytest

from workers.evaluators.ranking import (
    bootstrap_mean_interval,
    preference_metrics,
    ranking_correct,
    transition_table,
    wilson_interval,
)


def test_wilson_interval_hand_value():
    low, high = wilson_interval(8, 10, 0.95)  # textbook: [0.490, 0.943]
    assert low == pytest.approx(0.4902, abs=1e-3)
    assert high == pytest.approx(0.9433, abs=1e-3)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_ranking_correct_plain_ties_and_length_normalised():
    logps = [(-10.0, -12.0), (-12.0, -12.0), (-20.0, -12.0)]
    assert ranking_correct(logps) == [True, True, False]  # ≥: an exact tie counts as correct (E1)
    lengths = [(10, 2), (1, 1), (20, 4)]  # per token: -1 vs -6, -12 vs -12, -1 vs -3
    assert ranking_correct(logps, lengths) == [True, True, True]


def test_transition_table_and_flip_rate():
    table = transition_table([True, False, False, True], [True, True, False, False])
    assert table["transition_correct_to_correct"] == 1
    assert table["transition_incorrect_to_correct"] == 1
    assert table["transition_correct_to_incorrect"] == 1
    assert table["flip_rate"] == 0.5


def test_preference_metrics_hand_computed():
    base = [(-10.0, -12.0), (-15.0, -11.0), (-8.0, -9.0)]
    policy = [(-9.0, -13.0), (-14.0, -12.0), (-8.0, -9.0)]
    lengths = [(5, 6), (7, 3), (2, 2)]
    m = preference_metrics(base, policy, lengths, beta=0.1, bootstrap_samples=200)
    # implicit margins: 0.1*((1) - (-1)) = 0.2 ; 0.1*(1 - (-1)) = 0.2 ; 0 → strict accuracy 2/3
    assert m["reward_accuracy"] == pytest.approx(2 / 3)
    assert m["reward_margin"] == pytest.approx(0.4 / 3)
    assert m["ranking_accuracy_before"] == pytest.approx(2 / 3)
    assert m["ranking_accuracy_after"] == pytest.approx(2 / 3)
    assert m["longer_wins_baseline"] == pytest.approx(1 / 3)
    assert m["heldout_pairs"] == 3


def test_untrained_adapter_has_zero_reward_accuracy():
    base = [(-1.0, -2.0)] * 4
    m = preference_metrics(base, base, [(1, 1)] * 4, beta=0.1, bootstrap_samples=50)
    assert m["reward_accuracy"] == 0.0  # all rewards are exactly 0: strict '>' (methods.md §0.5)


def test_empty_heldout_is_a_clear_error():
    with pytest.raises(ValueError, match="no held-out pairs"):
        preference_metrics([], [], [], beta=0.1)


def test_bootstrap_interval_contains_mean_and_is_deterministic():
    values = [0.1, 0.5, -0.2, 0.3, 0.0, 0.4]
    low, high = bootstrap_mean_interval(values, samples=500, seed=1)
    assert low < sum(values) / len(values) < high
    assert (low, high) == bootstrap_mean_interval(values, samples=500, seed=1)
