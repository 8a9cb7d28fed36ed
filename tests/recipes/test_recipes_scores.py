"""Per-response objective scores (fields.scores): mapping to [0, 1], skips, and pairs by mean score."""

import pytest
from pydantic import ValidationError

from recipes.data_source import FileSource
from recipes.field_mapping import FieldMapping
from recipes.preference_data import (
    PreferenceRecord,
    mean_objective_scores,
    pairs_from_scores,
    record_to_pairs,
)
from recipes.row_mapper import Skip, records_from_row


def _source(**fields) -> FileSource:
    base = {"prompt": "p", "responses": "r", "scores": {"help": "h", "brief": "b"}}
    return FileSource(kind="file", path="x.jsonl", fields=base | fields)


def test_scores_are_mapped_to_the_unit_interval_with_their_scale():
    row = {"p": "q", "r": ["a", "b", "c"], "h": [1, 3, 2], "b": [0.0, 1.0, 0.5]}
    [record] = records_from_row(row, _source(score_scales={"help": (1, 3)}))
    assert record.objective_scores == {"help": {0: 0.0, 1: 1.0, 2: 0.5}, "brief": {0: 0.0, 1: 1.0, 2: 0.5}}


@pytest.mark.parametrize(
    "row, detail",
    [
        ({"p": "q", "r": ["a", "b"], "h": [1, 2, 3], "b": [0, 1]}, "one value per response"),
        ({"p": "q", "r": ["a", "b"], "h": [0.5, "x"], "b": [0, 1]}, "must be numbers"),
        ({"p": "q", "r": ["a", "b"], "h": [0.5, 7], "b": [0, 1]}, "outside its scale 0.0..1.0"),
    ],
)
def test_bad_scores_skip_the_row_with_a_reason(row, detail):
    result = records_from_row(row, _source())
    assert isinstance(result, Skip) and result.reason == "bad_label" and detail in result.detail


def test_a_scale_for_an_unscored_objective_is_refused():
    with pytest.raises(ValidationError, match="score_scales names"):
        FieldMapping(prompt="p", responses="r", scores={"help": "h"}, score_scales={"tone": (0, 5)})


def test_pairs_come_from_the_mean_score_with_a_minimum_gap():
    record = PreferenceRecord(
        prompt="q", responses=["a", "b", "c"],
        objective_scores={"help": {0: 0.9, 1: 0.5, 2: 0.45}, "brief": {0: 0.7, 1: 0.5, 2: 0.5}},
    )  # fmt: skip
    assert mean_objective_scores(record) == pytest.approx({0: 0.8, 1: 0.5, 2: 0.475})
    pairs = pairs_from_scores(record)
    assert [(p.chosen, p.rejected) for p in pairs] == [("a", "b"), ("a", "c")]  # b vs c: gap 0.025 < 0.1
    assert [p.strength for p in pairs] == pytest.approx([0.3, 0.325])
    assert record_to_pairs(record) == pairs
    weighted = mean_objective_scores(record, {"help": 1.0, "brief": 0.0})
    assert weighted == pytest.approx({0: 0.9, 1: 0.5, 2: 0.45})
