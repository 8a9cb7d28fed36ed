"""Synced Argilla responses → PreferenceRecords and agreement annotations (pure; tested on dicts).

One PreferenceRecord per submitted response, i.e. per (record, annotator): nobody is majority-voted
away, and `annotator_id` keeps who said it. Ratings are written as the level's position (1 = the
lowest level), which is what `recipes.preference_data` expects whatever values the scale stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from annotation.agreement import Annotation
from annotation.layout import PROMPT_FIELD, rating_question, response_field
from recipes.annotation_spec import (
    OVERALL_LABELS,
    OVERALL_QUESTION,
    RANKING_QUESTION,
    RATIONALE_QUESTION,
    AnnotationSpec,
)
from recipes.preference_data import PreferenceRecord


@dataclass(frozen=True)
class ResponseRow:
    record_id: str
    external_id: str | None
    username: str
    values: Mapping[str, Any]


class SyncedResponse(Protocol):
    """What sync stores per (record, user); `store.annotations.AnnotationResponse` rows fit."""

    record_id: str
    external_id: str | None
    username: str
    values: Mapping[str, Any]  # question -> answer (ranking: [{"value": ..., "rank": n}, ...])


def to_preference_records(
    responses: Iterable[SyncedResponse],
    fields_by_record: Mapping[str, Mapping[str, str]],
    spec: AnnotationSpec,
) -> list[PreferenceRecord]:
    """PreferenceRecords in a stable order (record external id, then annotator)."""
    ordered = sorted(responses, key=lambda r: (r.external_id or r.record_id, r.username))
    return [to_preference_record(r, fields_by_record[r.record_id], spec) for r in ordered]


def to_preference_record(
    response: SyncedResponse, fields: Mapping[str, str], spec: AnnotationSpec
) -> PreferenceRecord:
    values = response.values
    level = _pair_level(values.get(OVERALL_QUESTION))
    rationale = values.get(RATIONALE_QUESTION)
    return PreferenceRecord(
        prompt=fields[PROMPT_FIELD],
        responses=[fields[response_field(i)] for i in range(spec.responses)],
        pair=None if level in (None, 0) else ((0, 1) if level < 0 else (1, 0)),
        pair_level=level,
        ranking=_ranking(values.get(RANKING_QUESTION)),
        ratings=_ratings(values, spec),
        rationale=rationale.strip() if isinstance(rationale, str) and rationale.strip() else None,
        annotator_id=response.username,
    )


def to_annotations(responses: Iterable[SyncedResponse], spec: AnnotationSpec) -> list[Annotation]:
    """Flat annotations for `annotation.agreement`: ratings per (record, response) item and criterion,
    the overall label per record, and ranks per (record, response)."""
    annotations = []
    for response in responses:
        who, values = response.username, response.values
        for criterion in spec.criteria:
            for index in range(spec.responses):
                value = values.get(rating_question(criterion.name, index))
                item = f"{response.record_id}:{index}"
                annotations.append(Annotation(item, who, criterion.name, value))
        if OVERALL_QUESTION in values:
            annotations.append(
                Annotation(response.record_id, who, OVERALL_QUESTION, values[OVERALL_QUESTION])
            )
        for index, rank in _ranks(values.get(RANKING_QUESTION)).items():
            annotations.append(Annotation(f"{response.record_id}:{index}", who, RANKING_QUESTION, rank))
    return annotations


def _pair_level(label: Any) -> int | None:
    if label is None:
        return None
    if label not in OVERALL_LABELS:
        raise ValueError(f"unknown overall label {label!r}; expected one of {', '.join(OVERALL_LABELS)}")
    return OVERALL_LABELS[label][1]


def _ratings(values: Mapping[str, Any], spec: AnnotationSpec) -> dict[str, dict[int, int]] | None:
    ratings: dict[str, dict[int, int]] = {}
    for criterion in spec.criteria:
        positions = {level.value: n for n, level in enumerate(criterion.levels, start=1)}
        for index in range(spec.responses):
            value = values.get(rating_question(criterion.name, index))
            if value is not None:
                ratings.setdefault(criterion.name, {})[index] = positions[value]
    return ratings or None


def _ranks(answer: Any) -> dict[int, int]:
    """{response index: rank} from `[{"value": "response_b", "rank": 1}, ...]` (ranks read from REST)."""
    if not answer:
        return {}
    ranks = {}
    for entry in answer:
        index = ord(entry["value"].removeprefix("response_")) - ord("a")
        if entry.get("rank") is None:
            raise ValueError(f"ranking answer without ranks: {answer!r} (read ranks from the REST API)")
        ranks[index] = int(entry["rank"])
    return ranks


def _ranking(answer: Any) -> list[int] | None:
    ranks = _ranks(answer)
    # Equal ranks (a tie) keep response order; PreferenceRecord.ranking has no way to say "tied".
    return sorted(ranks, key=lambda index: (ranks[index], index)) or None
