"""§6.2 converters with hand-computed numbers."""

import math

import pytest

from recipes import (
    PreferencePair,
    PreferenceRecord,
    aggregate_score,
    pairs_from_ratings,
    record_to_pairs,
    soft_label_from_level,
    soft_label_from_margin,
    soft_label_from_votes,
)

RESPONSES = ["r0", "r1", "r2"]


def record(**kwargs) -> PreferenceRecord:
    return PreferenceRecord(prompt="p", responses=kwargs.pop("responses", RESPONSES), **kwargs)


def test_aggregate_score_equal_and_user_weights():
    # (5-1)/4 = 1.0 and (3-1)/4 = 0.5 → mean 0.75; weights 3:1 → (3*1.0 + 1*0.5) / 4 = 0.875
    assert aggregate_score({"help": 5, "safe": 3}, levels=5) == 0.75
    assert aggregate_score({"help": 5, "safe": 3}, {"help": 3, "safe": 1}, levels=5) == 0.875
    assert aggregate_score({"help": 1}, levels=7) == 0.0


@pytest.mark.parametrize("bad", [{"help": 0}, {"help": 6}, {}])
def test_aggregate_score_rejects_out_of_range(bad):
    with pytest.raises(ValueError):
        aggregate_score(bad, levels=5)


def test_pairs_from_ratings_default_gap_and_strength():
    # S = 1.0, 0.75, 0.75; δ = 1/(5-1) = 0.25 → (0>1) and (0>2) with m = 0.25; (1,2) tie dropped
    pairs = pairs_from_ratings(record(ratings={"help": {0: 5, 1: 4, 2: 4}}), levels=5)
    assert [(p.chosen, p.rejected, p.strength, p.soft_label) for p in pairs] == [
        ("r0", "r1", 0.25, 1.0),
        ("r0", "r2", 0.25, 1.0),
    ]
    assert pairs_from_ratings(record(ratings={"help": {0: 5, 1: 4, 2: 4}}), min_gap=0.3, levels=5) == []


def test_pairs_from_ratings_orients_the_winner_and_uses_kappa():
    # S0 = 0.25, S1 = 1.0 → r1 ≻ r0, m = 0.75; kappa = 2 → σ(1.5)
    (pair,) = pairs_from_ratings(record(responses=["r0", "r1"], ratings={"a": {0: 2, 1: 5}}), kappa=2.0)
    assert (pair.chosen, pair.rejected, pair.strength) == ("r1", "r0", 0.75)
    assert pair.soft_label == pytest.approx(1 / (1 + math.exp(-1.5)))


def test_pairs_from_ratings_multi_criteria_gap_below_delta_is_dropped():
    # S0 = (1 + 0.5)/2 = 0.75, S1 = (0.75 + 0.5)/2 = 0.625 → gap 0.125 < δ 0.25
    two = record(responses=["r0", "r1"], ratings={"help": {0: 5, 1: 4}, "safe": {0: 3, 1: 3}})
    assert pairs_from_ratings(two, levels=5) == []
    assert len(pairs_from_ratings(two, min_gap=0.1, levels=5)) == 1


def test_pairs_from_ratings_all_tied_gives_nothing():
    assert pairs_from_ratings(record(ratings={"a": {0: 3, 1: 3, 2: 3}}), levels=5) == []


def test_soft_label_from_votes_splits_ties():
    assert soft_label_from_votes(2, 1, 0) == pytest.approx(2 / 3)
    assert soft_label_from_votes(2, 0, 1) == pytest.approx(2.5 / 3)
    assert soft_label_from_votes(1, 1, 1) == 0.5
    assert soft_label_from_votes(0, 0, 3) == 0.5
    assert soft_label_from_votes(0, 4, 0) == 0.0
    with pytest.raises(ValueError):
        soft_label_from_votes(0, 0, 0)


def test_soft_label_from_level_and_margin():
    assert soft_label_from_level("much better") == 0.9
    assert soft_label_from_level("slightly better") == 0.6
    assert soft_label_from_level("meh", {"meh": 0.55}) == 0.55
    with pytest.raises(ValueError, match="unknown preference level"):
        soft_label_from_level("amazing")
    assert soft_label_from_margin(0.0, 5.0) == 0.5
    assert soft_label_from_margin(1.0, math.log(3)) == pytest.approx(0.75)


def test_explicit_pair_wins_and_reads_its_votes():
    (pair,) = record_to_pairs(record(pair=(1, 0), ranking=[2, 1, 0], rater_votes={(0, 1): (1, 2, 0)}))
    assert (pair.chosen, pair.rejected) == ("r1", "r0")
    assert pair.soft_label == pytest.approx(2 / 3)


def test_ranking_gives_all_ordered_pairs():
    pairs = record_to_pairs(record(ranking=[2, 0, 1]))
    assert [(p.chosen, p.rejected, p.strength) for p in pairs] == [
        ("r2", "r0", 0.5),
        ("r2", "r1", 1.0),
        ("r0", "r1", 0.5),
    ]


def test_ratings_are_used_when_there_is_no_pair_or_ranking():
    pairs = record_to_pairs(record(ratings={"a": {0: 1, 1: 5, 2: 3}}))
    assert [(p.chosen, p.rejected, p.strength) for p in pairs] == [
        ("r1", "r0", 1.0),
        ("r2", "r0", 0.5),
        ("r1", "r2", 0.5),
    ]


def test_votes_give_the_majority_pair_or_a_tie():
    (pair,) = record_to_pairs(record(responses=["a", "b"], rater_votes={(0, 1): (1, 2, 0)}))
    assert (pair.chosen, pair.soft_label, pair.is_tie) == ("b", pytest.approx(2 / 3), False)
    (tie,) = record_to_pairs(record(responses=["a", "b"], rater_votes={(0, 1): (1, 1, 1)}))
    assert (tie.is_tie, tie.soft_label) == (True, 0.5)
    (all_tie,) = record_to_pairs(record(responses=["a", "b"], rater_votes={(0, 1): (0, 0, 3)}))
    assert all_tie.is_tie


@pytest.mark.parametrize(
    ("level", "chosen", "label", "tie"), [(-2, "a", 0.75, False), (3, "b", 0.9, False), (0, "a", 0.5, True)]
)
def test_pair_level_sign_and_magnitude(level, chosen, label, tie):
    (pair,) = record_to_pairs(record(responses=["a", "b"], pair_level=level))
    assert (pair.chosen, pair.soft_label, pair.is_tie) == (chosen, label, tie)


def test_record_without_signal_gives_no_pairs_and_metadata_is_carried():
    assert record_to_pairs(record()) == []
    (pair,) = record_to_pairs(record(pair=(0, 2), rationale="clearer", annotator_id="ann-7"))
    assert pair == PreferencePair(
        prompt="p", chosen="r0", rejected="r2", rationale="clearer", annotator_id="ann-7"
    )


def test_record_rejects_out_of_range_indices_and_self_pairs():
    with pytest.raises(ValueError, match="out of range"):
        record(ranking=[0, 3])
    with pytest.raises(ValueError, match="two different"):
        record(pair=(1, 1))
    with pytest.raises(ValueError):
        PreferencePair(prompt="p", chosen="a", rejected="b", soft_label=0.4)


def test_record_serializes_to_json():
    rec = record(rater_votes={(0, 1): (1, 2, 0)}, ratings={"a": {0: 1, 1: 2}})
    assert PreferenceRecord.model_validate_json(rec.model_dump_json()) == rec
