"""The per-question agreement report the studio shows and the recipe gate reads (JSON-serializable)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from annotation.agreement.alpha import LEVELS, Level, alpha_result
from annotation.agreement.consensus import consensus_scores
from annotation.agreement.data import Annotation, Matrix, annotations_to_matrices, matrix_units
from annotation.agreement.kappa import pairwise_kappa

# Ratings get quadratic weights: a 4 against a 5 is a smaller disagreement than a 1 against a 5.
KAPPA_WEIGHTS: dict[str, str | None] = {"nominal": None, "ordinal": "quadratic", "interval": "quadratic"}


def agreement_report(
    annotations: Iterable[Annotation] | Mapping[str, Matrix], questions: Mapping[str, Level]
) -> dict[str, dict[str, Any]]:
    """Per question: Krippendorff's α at the question's level, counts, pairwise κ, consensus scores.

    `annotations` are flat `Annotation`s or `{question: {annotator: {item: value}}}`; `questions` maps
    each question to its level ("ordinal" for ratings, "nominal" for labels). Undefined numbers are
    None (never NaN, which is not JSON), and `alpha_reason` then says why. Formulas: see `alpha_result`,
    `cohen_kappa` and `consensus_scores`.
    """
    unknown = {name: level for name, level in questions.items() if level not in LEVELS}
    if unknown:
        raise ValueError(f"unknown levels {unknown}; each question must be one of {', '.join(LEVELS)}")
    matrices = annotations if isinstance(annotations, Mapping) else annotations_to_matrices(annotations)
    return {name: question_report(matrices.get(name, {}), level) for name, level in questions.items()}


def question_report(matrix: Matrix, level: Level) -> dict[str, Any]:
    """The report entry for one question's reliability matrix (see `agreement_report`)."""
    units = matrix_units(matrix)
    n_pairable = sum(len(values) >= 2 for values in units.values())
    alpha, n_values, reason = _alpha_or_reason(matrix, level, len(units), n_pairable)
    weights = KAPPA_WEIGHTS[level]
    kappas = pairwise_kappa(matrix, weights=weights)
    return {
        "level": level,
        "alpha": alpha,
        "alpha_reason": reason,
        "n_items": len(units),
        "n_pairable": n_pairable,
        "n_values": n_values,
        "n_annotators": sum(any(v is not None for v in row.values()) for row in matrix.values()),
        "kappa_weights": weights,
        "pairwise_kappa": [
            {"annotators": [first, second], "kappa": _finite(pair.kappa), "n": pair.n}
            for (first, second), pair in kappas.items()
        ],
        "annotators": {
            name: {key: _finite(value) for key, value in asdict(score).items()}
            for name, score in consensus_scores(matrix, level).items()
        },
    }


def _alpha_or_reason(
    matrix: Matrix, level: Level, n_items: int, n_pairable: int
) -> tuple[float | None, int, str | None]:
    if n_items == 0:
        return None, 0, "no annotations for this question yet"
    if n_pairable == 0:
        return None, 0, f"none of the {n_items} annotated items has values from two or more annotators yet"
    result = alpha_result(matrix, level)
    return _finite(result.alpha), result.n_values, result.reason


def _finite(value: Any) -> Any:
    """NaN → None, so that the report is strict JSON (json.dumps(..., allow_nan=False))."""
    return None if isinstance(value, float) and math.isnan(value) else value
