"""Annotation data shapes for agreement: flat annotations, reliability matrices, and units.

A *reliability matrix* for one question is `{annotator: {item_id: value}}` (Krippendorff 2011, §A: coders
× units, with missing cells). A *unit* is the list of values the annotators gave one item; only units with
two or more values are *pairable* and carry information about agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Value = int | float | str
Matrix = Mapping[str, Mapping[str, Value | None]]


@dataclass(frozen=True)
class Annotation:
    """One annotator's answer to one question on one item; `value=None` means the question was skipped."""

    item_id: str
    annotator: str
    question: str
    value: Value | None


def annotations_to_matrices(annotations: Iterable[Annotation]) -> dict[str, dict[str, dict[str, Value]]]:
    """Group flat annotations into one reliability matrix per question: `{question: {annotator: {item: v}}}`.

    Missing values (None) are left out, which is how a matrix marks a missing cell. The same annotator
    answering the same item twice with different values is an error: agreement with oneself is undefined,
    and silently keeping one answer would make the measure depend on the sync order.
    """
    matrices: dict[str, dict[str, dict[str, Value]]] = {}
    for ann in annotations:
        if ann.value is None:
            continue
        row = matrices.setdefault(ann.question, {}).setdefault(ann.annotator, {})
        if ann.item_id in row and row[ann.item_id] != ann.value:
            raise ValueError(
                f"annotator {ann.annotator!r} gave two different values to item {ann.item_id!r} on "
                f"question {ann.question!r} ({row[ann.item_id]!r} and {ann.value!r}); keep one response "
                "per annotator and item"
            )
        row[ann.item_id] = ann.value
    return matrices


def matrix_to_annotations(matrix: Matrix, question: str) -> list[Annotation]:
    """The inverse converter: a reliability matrix for `question` back to flat annotations."""
    return [
        Annotation(item_id=item, annotator=annotator, question=question, value=value)
        for annotator, row in matrix.items()
        for item, value in row.items()
    ]


def matrix_units(matrix: Matrix) -> dict[str, list[Value]]:
    """Per item, the non-missing values of all annotators (annotator order: as in the matrix)."""
    units: dict[str, list[Value]] = {}
    for row in matrix.values():
        for item, value in row.items():
            if value is not None:
                units.setdefault(item, []).append(value)
    return units


def pairable_units(units: Iterable[Sequence[Value | None]]) -> list[list[Value]]:
    """Drop missing values, then keep units with at least two values (Krippendorff 2011: m_u ≥ 2)."""
    kept = []
    for unit in units:
        values = [v for v in unit if v is not None and not _is_nan(v)]
        if len(values) >= 2:
            kept.append(values)
    return kept


def _is_nan(value: Value) -> bool:
    # A float NaN is the usual "missing" marker in arrays read from pandas or numpy.
    return isinstance(value, float) and value != value
