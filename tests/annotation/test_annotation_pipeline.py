"""The pure parts around Argilla, without a server: rubric validation, layout, export (ranks, levels,
pair levels), the store's idempotent sync write, and training data through the recipe gate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from annotation.export import ResponseRow, to_annotations, to_preference_record
from recipes.annotation_spec import AnnotationSpec
from recipes.data_source import ArgillaSource
from recipes.io import parse_recipe
from store import annotations

LEVELS = [{"value": v, "label": f"level {v}"} for v in (0, 5, 10)]
SPEC3 = AnnotationSpec(responses=3, criteria=[{"name": "helpful", "levels": LEVELS}], overlap=2)
FIELDS3 = {"prompt": "p", "response_a": "x", "response_b": "y", "response_c": "z"}


def test_rubric_mirrors_argillas_limits():
    with pytest.raises(ValidationError, match="at most 11"):
        AnnotationSpec(criteria=[{"name": "c", "levels": [{"value": v, "label": "l"} for v in range(12)]}])
    with pytest.raises(ValidationError, match="less than or equal to 10"):
        AnnotationSpec(
            criteria=[{"name": "c", "levels": [{"value": 1, "label": "a"}, {"value": 11, "label": "b"}]}]
        )
    with pytest.raises(ValidationError, match="pattern"):
        AnnotationSpec(criteria=[{"name": "Helpful", "levels": LEVELS}])
    with pytest.raises(ValidationError, match="need at least 3 annotators"):
        AnnotationSpec(overlap=3, annotators=["a", "b"])
    with pytest.raises(ValidationError, match="gate.criteria: honesty not measured"):
        AnnotationSpec(
            criteria=[{"name": "helpful", "levels": LEVELS}], gate={"min_alpha": 0.6, "criteria": ["honesty"]}
        )


def test_rubric_question_names_for_three_responses():
    assert SPEC3.question_names() == ["helpful_a", "helpful_b", "helpful_c", "ranking", "rationale"]
    assert SPEC3.agreement_questions() == {"helpful": "ordinal", "ranking": "ordinal"}


def test_export_reads_ranks_levels_and_rationale():
    values = {
        "helpful_a": 10, "helpful_b": 0, "helpful_c": 5, "rationale": "  A quotes the source ",
        "ranking": [{"value": "response_c", "rank": 2}, {"value": "response_a", "rank": 1},
                    {"value": "response_b", "rank": 2}],
    }  # fmt: skip
    record = to_preference_record(ResponseRow("r1", "i1", "alice", values), FIELDS3, SPEC3)
    assert record.ranking == [0, 1, 2]  # the tie between B and C keeps response order
    assert record.ratings == {"helpful": {0: 3, 1: 1, 2: 2}}  # level positions, 1 = lowest
    assert (record.rationale, record.annotator_id, record.pair) == ("A quotes the source", "alice", None)
    ranks = [
        a
        for a in to_annotations([ResponseRow("r1", "i1", "alice", values)], SPEC3)
        if a.question == "ranking"
    ]
    assert {a.item_id: a.value for a in ranks} == {"r1:0": 1, "r1:1": 2, "r1:2": 2}
    with pytest.raises(ValueError, match="without ranks"):
        to_preference_record(
            ResponseRow("r1", "i1", "a", {"ranking": [{"value": "response_a"}]}), FIELDS3, SPEC3
        )


def _response(record: str, user: str, label: str) -> dict:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    values = {"overall": label}
    return {"record_id": record, "external_id": record, "user_id": user, "username": user, "values": values,
            "updated_at": at}  # fmt: skip


SPEC2 = AnnotationSpec(overlap=2, gate={"min_alpha": 0.5, "min_completed_records": 2})
RECORDS = [
    {"record_id": r, "external_id": r, "status": "completed",
     "fields": {"prompt": f"p{r}", "response_a": f"a{r}", "response_b": f"b{r}"}}
    for r in ("r1", "r2")
]  # fmt: skip


def test_apply_sync_is_idempotent_and_removes_withdrawn_responses():
    link = annotations.ensure_link("x", "studio", "ds", SPEC2.model_dump(mode="json"))
    responses = [_response("r1", "u1", "a_better"), _response("r1", "u2", "a_better")]
    assert annotations.apply_sync(link.id, RECORDS, responses, {}).added == 2
    again = annotations.apply_sync(link.id, RECORDS, responses, {})
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 2)
    changed = [_response("r1", "u1", "b_better")]  # u1 changed their mind, u2 discarded theirs
    counts = annotations.apply_sync(link.id, RECORDS, changed, {})
    assert (counts.added, counts.updated, counts.removed) == (0, 1, 1)
    assert [r.values for r in annotations.responses_of(link.id)] == [{"overall": "b_better"}]


def test_recipe_from_argilla_trains_only_past_the_gate():
    from workers.argilla_data import read_argilla
    from workers.errors import UserFacingError

    recipe = parse_recipe(
        "name: ann\ndata: {kind: argilla, dataset: ds}\nmethod: {method: dpo}\nannotation: {overlap: 2}"
    )
    assert isinstance(recipe.data, ArgillaSource)
    source = ArgillaSource(kind="argilla", dataset="ds")
    with pytest.raises(UserFacingError, match="no annotations synced"):
        read_argilla(source)
    link = annotations.ensure_link("x", "studio", "ds", SPEC2.model_dump(mode="json"))
    disagree = [_response("r1", "u1", "a_better"), _response("r1", "u2", "b_better"),
                _response("r2", "u1", "a_better"), _response("r2", "u2", "b_better")]  # fmt: skip
    _sync(link.id, disagree)
    with pytest.raises(
        UserFacingError, match="agreement on 'overall' is α = .* below the recipe's minimum 0.50"
    ):
        read_argilla(source)
    agree = [_response("r1", "u1", "a_better"), _response("r1", "u2", "a_better"),
             _response("r2", "u1", "b_better"), _response("r2", "u2", "b_better")]  # fmt: skip
    _sync(link.id, agree)
    loaded = read_argilla(source)
    assert len(loaded.pairs) == 4 and {p.annotator_id for p in loaded.pairs} == {"u1", "u2"}
    assert loaded.report["annotation"]["alpha"] == {"overall": 1.0}
    assert loaded.report["annotation"]["completed_records"] == 2


def _sync(link_id: int, responses: list[dict]) -> None:
    from annotation.backend import Snapshot
    from annotation.sync import sync_rows

    snapshot = Snapshot(RECORDS, [{**r, "status": "submitted"} for r in responses], {})
    records, submitted, summary = sync_rows(snapshot, SPEC2)
    annotations.apply_sync(link_id, records, submitted, summary)
