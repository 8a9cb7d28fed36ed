"""FieldMapping: which columns of a data row hold the prompt, the responses and the human signal."""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from recipes._base import StrictModel

LabelMeaning = Literal["a", "b", "tie"]
# Used when a mapping names a label or votes but no label_values: covers 1/2/0 files and a/b/tie files.
DEFAULT_LABEL_VALUES: dict[str, LabelMeaning] = {
    "1": "a",
    "2": "b",
    "0": "tie",
    "a": "a",
    "b": "b",
    "tie": "tie",
}


class FieldMapping(StrictModel):
    """Column names of one row → the canonical PreferenceRecord. Unset keys come from the preset."""

    prompt: str | list[str] | None = Field(
        None,
        description="Prompt column, or several columns joined with a blank line (e.g. instruction + input).",
    )
    transcripts: bool = Field(
        False,
        description="chosen/rejected hold whole dialogues; the prompt is their shared prefix up to the last "
        "'Assistant:' turn.",
    )
    chosen: str | None = Field(None, description="Column with the preferred response.")
    rejected: str | None = Field(None, description="Column with the dispreferred response.")
    responses: str | list[str] | None = Field(
        None, description="Columns with the candidate responses, or one column holding a list of them."
    )
    response_text_key: str = Field(
        "text",
        min_length=1,
        description="Key of the text inside each list element when responses are objects.",
    )
    label: str | None = Field(
        None, description="Column saying which of two responses is better (read with label_values)."
    )
    label_values: dict[str, LabelMeaning] | None = Field(
        None,
        description="Label value → a (first better), b (second better) or tie, e.g. {1: a, 2: b, 0: tie}.",
    )
    ranks: str | None = Field(
        None,
        description="Column (or key inside each response object) with each response's rank; lowest = best.",
    )
    ratings: dict[str, list[str]] | None = Field(
        None,
        description="Criterion → columns with that criterion's rating of each response, in response order.",
    )
    scores: dict[str, str | list[str]] | None = Field(
        None,
        description="Objective → a column holding one score per response (a list), or one column per "
        "response; higher is better (e.g. several attribute scores per response, for PRO and RPS).",
    )
    score_scales: dict[str, tuple[float, float]] | None = Field(
        None,
        description="Objective → (worst, best) of its scale, used to map its scores to [0, 1]; "
        "an objective not listed is read as already on [0, 1].",
    )
    rationale: str | None = Field(None, description="Column with the annotator's written reason.")
    annotator: str | None = Field(None, description="Column with the annotator's id.")
    votes: list[str] | None = Field(
        None, min_length=1, description="Label columns, one per annotator, each read with label_values."
    )

    @field_validator("label_values", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        # YAML reads `1: a` with an int key; rows are matched on str(value), so keys are kept as text.
        if isinstance(value, dict):
            return {str(key): meaning for key, meaning in value.items()}
        return value

    @model_validator(mode="after")
    def _response_columns_are_plural(self) -> "FieldMapping":
        if isinstance(self.responses, list) and len(self.responses) < 2:
            raise ValueError("responses needs at least two columns (or one column that holds a list)")
        return self

    @model_validator(mode="after")
    def _scales_name_scored_objectives(self) -> "FieldMapping":
        unknown = sorted(set(self.score_scales or {}) - set(self.scores or {}))
        if unknown:
            raise ValueError(f"score_scales names {unknown} that are not under scores: add them or remove")
        for name, (worst, best) in (self.score_scales or {}).items():
            if worst == best:
                raise ValueError(f"score_scales {name!r}: worst and best must differ, got {worst} twice")
        return self

    def effective_label_values(self) -> dict[str, LabelMeaning]:
        return self.label_values if self.label_values is not None else DEFAULT_LABEL_VALUES


def missing_pieces(mapping: FieldMapping) -> list[str]:
    """What a mapping still lacks to produce records; empty when it is complete."""
    missing = []
    if mapping.prompt is None and not mapping.transcripts:
        missing.append("prompt")
    if mapping.chosen or mapping.rejected:
        missing += [name for name in ("chosen", "rejected") if getattr(mapping, name) is None]
        return missing
    if mapping.responses is None:
        missing.append("chosen + rejected, or responses")
    if not (mapping.label or mapping.votes or mapping.ranks or mapping.ratings or mapping.scores):
        missing.append("a signal for the responses (label, votes, ranks, ratings or scores)")
    return missing
