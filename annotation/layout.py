"""AnnotationSpec → Argilla dataset settings, and PreferenceRecords → Argilla records.

Questions (names fixed, so `export.py` can read them back):
- `<criterion>_<letter>`: a RatingQuestion per criterion and response (A, B, ...); the level labels
  go into its description, since Argilla 2.x rating options have no labels of their own;
- `overall` (two responses): a LabelQuestion, A much better … tie … B much better;
- `ranking` (more than two responses): a RankingQuestion over `response_a`, `response_b`, ...;
- `rationale`: a TextQuestion (Argilla has no comment box per question, docs/argilla.md trap 5).
Fields: `prompt`, `response_a`, `response_b`, ... Overlap: `TaskDistribution(min_submitted=overlap)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import argilla as rg

from recipes.annotation_spec import (
    OVERALL_LABELS,
    OVERALL_QUESTION,
    RANKING_QUESTION,
    RATIONALE_QUESTION,
    RESPONSE_LETTERS,
    AnnotationSpec,
    Criterion,
)
from recipes.preference_data import PreferenceRecord

PROMPT_FIELD = "prompt"
SUGGESTION_TIE_GAP = 1e-9  # score gaps smaller than this suggest a tie


def response_field(index: int) -> str:
    return f"response_{RESPONSE_LETTERS[index]}"


def rating_question(criterion: str, index: int) -> str:
    return f"{criterion}_{RESPONSE_LETTERS[index]}"


def dataset_settings(spec: AnnotationSpec) -> rg.Settings:
    return rg.Settings(
        guidelines=spec.guidelines,
        fields=_fields(spec),
        questions=_questions(spec),
        metadata=[rg.TermsMetadataProperty("source", title="Source")],
        distribution=rg.TaskDistribution(min_submitted=spec.overlap),
    )


def _fields(spec: AnnotationSpec) -> list[rg.TextField]:
    fields = [rg.TextField(name=PROMPT_FIELD, title="Prompt", use_markdown=True)]
    for index in range(spec.responses):
        letter = RESPONSE_LETTERS[index].upper()
        fields.append(rg.TextField(name=response_field(index), title=f"Response {letter}", use_markdown=True))
    return fields


def _questions(spec: AnnotationSpec) -> list:
    questions: list = [
        _rating(criterion, index) for criterion in spec.criteria for index in range(spec.responses)
    ]
    if OVERALL_QUESTION in spec.question_names():
        labels = {value: text for value, (text, _level) in OVERALL_LABELS.items()}
        questions.append(
            rg.LabelQuestion(
                name=OVERALL_QUESTION, title="Which response is better overall?", labels=labels, required=True
            )
        )
    if RANKING_QUESTION in spec.question_names():
        values = {response_field(i): f"Response {RESPONSE_LETTERS[i].upper()}" for i in range(spec.responses)}
        questions.append(
            rg.RankingQuestion(name=RANKING_QUESTION, title="Rank the responses, best first", values=values)
        )
    if spec.rationale:
        questions.append(rg.TextQuestion(name=RATIONALE_QUESTION, title=spec.rationale, required=False))
    return questions


def _rating(criterion: Criterion, index: int) -> rg.RatingQuestion:
    title = f"{criterion.title or criterion.name} — response {RESPONSE_LETTERS[index].upper()}"
    legend = " · ".join(f"{level.value} = {level.label}" for level in criterion.levels)
    description = f"{criterion.description}\n\n{legend}" if criterion.description else legend
    return rg.RatingQuestion(
        name=rating_question(criterion.name, index),
        title=title,
        description=description[:1000],
        values=[level.value for level in criterion.levels],
        required=criterion.required,
    )


@dataclass
class Layout:
    records: list[rg.Record] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def records_for(items: list[tuple[str, PreferenceRecord]], spec: AnnotationSpec, source: str = "") -> Layout:
    """One Argilla record per (item id, PreferenceRecord); the item id becomes the record's external id,
    so publishing the same items twice updates them instead of adding copies."""
    layout = Layout()
    for item_id, record in items:
        if len(record.responses) < spec.responses:
            key = f"fewer than {spec.responses} responses"
            layout.skipped[key] = layout.skipped.get(key, 0) + 1
            continue
        fields = {PROMPT_FIELD: record.prompt}
        fields |= {response_field(i): record.responses[i] for i in range(spec.responses)}
        suggestion = overall_suggestion(record, spec)
        layout.records.append(
            rg.Record(
                id=item_id,
                fields=fields,
                metadata={"source": source} if source else {},
                suggestions=[suggestion] if suggestion else [],
            )
        )
    return layout


def overall_suggestion(record: PreferenceRecord, spec: AnnotationSpec) -> rg.Suggestion | None:
    """The reward model's preferred response as a pre-filled overall choice; score = |gap| capped at 1."""
    if spec.suggest_from is None or OVERALL_QUESTION not in spec.question_names():
        return None
    scores = (record.objective_scores or {}).get(spec.suggest_from, {})
    if 0 not in scores or 1 not in scores:
        return None
    gap = scores[1] - scores[0]
    value = "tie" if abs(gap) < SUGGESTION_TIE_GAP else ("b_better" if gap > 0 else "a_better")
    return rg.Suggestion(
        question_name=OVERALL_QUESTION, value=value, score=min(abs(gap), 1.0), agent=spec.suggest_from
    )
