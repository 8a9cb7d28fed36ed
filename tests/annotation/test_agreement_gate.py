"""The agreement report (JSON, counts, reasons) and the recipe gate that can block training."""

import json

import pytest
from pydantic import ValidationError

from annotation.agreement import Annotation, agreement_report, annotations_to_matrices, check_gate
from annotation.agreement.data import matrix_to_annotations
from recipes.annotation_spec import AgreementGate


def _annotations() -> list[Annotation]:
    # helpfulness: three raters who disagree a lot; label: near-perfect agreement; tone: one category only.
    helpfulness = {"ann": [1, 5, 2, 4, 3, 1], "bea": [5, 1, 4, 2, 3, 5], "cal": [3, 3, 1, 5, None, 2]}
    label = {"ann": ["a", "b", "a", "b", "a", "b"], "bea": ["a", "b", "a", "b", "a", "a"]}
    tone = {"ann": ["ok"] * 6, "bea": ["ok"] * 6}
    out = []
    for question, table in {"helpfulness": helpfulness, "label": label, "tone": tone}.items():
        for annotator, values in table.items():
            out += [Annotation(f"r{i}", annotator, question, v) for i, v in enumerate(values)]
    return out


QUESTIONS = {"helpfulness": "ordinal", "label": "nominal", "tone": "nominal", "safety": "nominal"}


@pytest.fixture(scope="module")
def report() -> dict:
    return agreement_report(_annotations(), QUESTIONS)


def test_report_is_strict_json_with_counts(report):
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    help_ = report["helpfulness"]
    assert (help_["n_items"], help_["n_pairable"], help_["n_values"], help_["n_annotators"]) == (6, 6, 17, 3)
    assert help_["alpha"] < 0 and help_["alpha_reason"] is None and help_["kappa_weights"] == "quadratic"
    assert [row["annotators"] for row in help_["pairwise_kappa"]] == [
        ["ann", "bea"],
        ["ann", "cal"],
        ["bea", "cal"],
    ]
    assert set(help_["annotators"]) == {"ann", "bea", "cal"}
    assert report["label"]["annotators"]["ann"]["agreement_rate"] == pytest.approx(5 / 6)


def test_report_explains_what_cannot_be_computed(report):
    assert report["tone"]["alpha"] is None and "single category" in report["tone"]["alpha_reason"]
    assert report["safety"]["alpha"] is None and report["safety"]["alpha_reason"].startswith("no annotations")
    lonely = agreement_report([Annotation("r1", "ann", "q", 1)], {"q": "ordinal"})["q"]
    assert lonely["alpha"] is None and "two or more annotators" in lonely["alpha_reason"]


def test_report_accepts_matrices_and_rejects_unknown_levels():
    matrices = annotations_to_matrices(_annotations())
    assert agreement_report(matrices, {"label": "nominal"}) == agreement_report(
        _annotations(), {"label": "nominal"}
    )
    with pytest.raises(ValueError, match="levels"):
        agreement_report(matrices, {"label": "categorical"})


def test_converters_round_trip_and_refuse_conflicting_answers():
    matrix = annotations_to_matrices(_annotations())["helpfulness"]
    assert annotations_to_matrices(matrix_to_annotations(matrix, "helpfulness")) == {"helpfulness": matrix}
    assert "r4" not in matrix["cal"]  # a None value is a missing cell
    twice = [Annotation("r1", "ann", "q", 1), Annotation("r1", "ann", "q", 2)]
    with pytest.raises(ValueError, match="two different values"):
        annotations_to_matrices(twice)


def test_gate_names_the_failing_criterion(report):
    reasons = check_gate(
        report, completed_records=6, gate=AgreementGate(min_alpha=0.4, criteria=["helpfulness"])
    )
    assert len(reasons) == 1
    alpha = report["helpfulness"]["alpha"]
    assert reasons[0] == (
        f"agreement on 'helpfulness' is α = {alpha:.2f} (ordinal) on 6 records, below the recipe's minimum "
        "0.40 — collect more overlapping annotations or lower annotation.gate.min_alpha"
    )


def test_gate_over_all_criteria_and_records(report):
    reasons = check_gate(
        report, completed_records=3, gate=AgreementGate(min_alpha=0.4, min_completed_records=5)
    )
    assert reasons[0].startswith("only 3 records are completed, below the recipe's minimum 5")
    failing = [r.split("'")[1] for r in reasons[1:]]
    assert failing == ["helpfulness", "tone", "safety"]  # label passes; unmeasurable α fails
    assert "cannot be measured" in reasons[2] and "single category" in reasons[2]


def test_gate_passes_and_catches_unknown_criteria(report):
    assert (
        check_gate(report, 6, AgreementGate(min_alpha=0.4, min_completed_records=6, criteria=["label"])) == []
    )
    assert check_gate(report, 0, AgreementGate()) == []
    reasons = check_gate(report, 6, AgreementGate(min_alpha=0.4, criteria=["harmlesness"]))
    assert "no such question" in reasons[0] and "helpfulness" in reasons[0]


def test_gate_never_prints_a_failing_value_equal_to_the_limit():
    report = {"q": {"alpha": 0.39996, "level": "nominal", "n_pairable": 10, "alpha_reason": None}}
    (reason,) = check_gate(report, 10, AgreementGate(min_alpha=0.4))
    # 0.39996 prints as 0.40 and 0.4000: show enough digits to see why it fails.
    assert "is α = 0.39996 (nominal) on 10 records, below the recipe's minimum 0.40000" in reason


def test_agreement_gate_model_validates():
    gate = AgreementGate(min_alpha=0.667, min_completed_records=100, criteria=["helpfulness"])
    assert gate.min_alpha == 0.667
    for bad in ({"min_alpha": 1.5}, {"min_alpha": -1.1}, {"min_completed_records": -1}, {"criteria": []},
                {"criteria": ["a", "a"]}, {"criteria": [" "]}, {"minimum_alpha": 0.5}):  # fmt: skip
        with pytest.raises(ValidationError):
            AgreementGate(**bad)
    with pytest.raises(ValidationError):
        gate.min_alpha = 0.1  # frozen
    schema = AgreementGate.model_json_schema()["properties"]
    assert all(schema[name].get("description") for name in ("min_alpha", "min_completed_records", "criteria"))
