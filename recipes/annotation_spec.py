"""The annotation part of a recipe: the rubric annotators see in Argilla, overlap, and the agreement gate.

The limits mirror argilla-server 2.8 (api/schemas/v1/questions.py), so a recipe that validates here is
never refused when it is published: question names `^(?=.*[a-z0-9])[a-z0-9_-]+$` of at most 200
characters, 2 to 11 rating levels with values 0..10, guidelines of at most 10,000 characters.
"""

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from recipes._base import StrictModel
from recipes.data_source import FileSource, HubSource

QUESTION_NAME_PATTERN = r"^[a-z0-9_-]*[a-z0-9][a-z0-9_-]*$"  # Argilla: ^(?=.*[a-z0-9])[a-z0-9_-]+$
QUESTION_NAME_MAX = 200
RESPONSE_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# The overall choice between two responses; the number is PreferenceRecord.pair_level (negative = A).
OVERALL_LABELS: dict[str, tuple[str, int]] = {
    "a_much_better": ("A is much better", -3),
    "a_better": ("A is better", -2),
    "a_slightly_better": ("A is slightly better", -1),
    "tie": ("Tie", 0),
    "b_slightly_better": ("B is slightly better", 1),
    "b_better": ("B is better", 2),
    "b_much_better": ("B is much better", 3),
}
OVERALL_QUESTION = "overall"
RANKING_QUESTION = "ranking"
RATIONALE_QUESTION = "rationale"


class AgreementGate(StrictModel):
    """Training waits until the annotations agree enough and enough records are complete."""

    min_alpha: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="Lowest Krippendorff's α accepted for each gated criterion (ordinal for ratings,"
        " nominal for labels); 0.667 is Krippendorff's lowest bar for tentative conclusions, 0.8 for firm"
        " ones. Leave empty to not gate on agreement.",
    )
    min_completed_records: int | None = Field(
        None,
        ge=0,
        description="Fewest records with all their requested responses submitted before training may"
        " start. Leave empty to not gate on progress.",
    )
    criteria: list[str] | None = Field(
        None,
        description="The criteria (question names) whose agreement is gated; empty means all of them.",
    )

    @field_validator("criteria")
    @classmethod
    def _criteria_named_once(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one criterion, or leave criteria empty (null) to gate all")
        blank = [name for name in value if not name.strip()]
        if blank:
            raise ValueError("criterion names must not be blank")
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"criteria are listed more than once: {', '.join(repeated)}")
        return value


class RatingLevel(StrictModel):
    value: int = Field(ge=0, le=10, description="The number stored for this level (Argilla allows 0..10).")
    label: str = Field(min_length=1, max_length=500, description="What the level means, shown to annotators.")


class Criterion(StrictModel):
    """One rated aspect; every response of a record gets its own rating question for it."""

    name: str = Field(
        min_length=1,
        max_length=QUESTION_NAME_MAX - 2,
        pattern=QUESTION_NAME_PATTERN,
        description="Question name: lowercase letters, digits, '_' or '-' (Argilla's rule).",
    )
    title: str | None = Field(
        None, max_length=480, description="Shown above the scale; defaults to the name."
    )
    description: str | None = Field(None, max_length=1000, description="Help text shown with the scale.")
    levels: list[RatingLevel] = Field(
        min_length=2, max_length=11, description="2 to 11 levels, lowest first, each with a label."
    )
    required: bool = Field(True, description="Annotators must answer it before submitting.")

    @field_validator("levels")
    @classmethod
    def _levels_ascend(cls, levels: list[RatingLevel]) -> list[RatingLevel]:
        values = [level.value for level in levels]
        if values != sorted(set(values)):
            raise ValueError(f"level values must be distinct and ascending, got {values}")
        return levels


Annotators = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]],
    Field(description="Usernames of the annotator accounts created in the dataset's workspace."),
]


class AnnotationSpec(StrictModel):
    """What annotators are asked in Argilla, and when their answers are good enough to train on."""

    items: FileSource | HubSource | None = Field(
        None,
        discriminator="kind",
        description="The prompts and responses to publish for annotation (read like `data`); empty when the"
        " dataset is filled another way (e.g. imported annotations).",
    )
    responses: int = Field(2, ge=2, le=len(RESPONSE_LETTERS), description="Responses shown per record.")
    guidelines: str = Field(
        "Read the prompt and each response, rate every criterion, then say which response is better and why.",
        min_length=1,
        max_length=10_000,
        description="Annotation guidelines (Markdown), shown in Argilla next to every record.",
    )
    criteria: list[Criterion] = Field(
        default_factory=list, description="Rated criteria (multi-level scales)."
    )
    rationale: str | None = Field(
        "Why is the better response better? Quote the passages that decided it.",
        max_length=500,
        description="The rationale question's title; empty for no rationale question.",
    )
    overall: bool = Field(
        True,
        description="Ask for the overall choice between two responses (A much better … tie … B much better).",
    )
    ranking: bool = Field(
        True, description="Ask for a full ranking when a record shows more than two responses."
    )
    overlap: int = Field(
        1, ge=1, le=50, description="Submitted responses needed before a record is complete."
    )
    annotators: Annotators = Field(default_factory=list)
    suggest_from: str | None = Field(
        None,
        min_length=1,
        description="An objective in the items' reward-model scores; its preferred response is suggested"
        " as the overall choice, with the score gap as confidence.",
    )
    gate: AgreementGate = Field(default_factory=AgreementGate, description="What blocks training.")
    retrain_after: int | None = Field(
        None, ge=1, description="Start a new run after this many newly completed records (webhook-driven)."
    )

    def question_names(self) -> list[str]:
        """Every question the dataset will have, in display order."""
        letters = RESPONSE_LETTERS[: self.responses]
        names = [f"{criterion.name}_{letter}" for criterion in self.criteria for letter in letters]
        if self.overall and self.responses == 2:
            names.append(OVERALL_QUESTION)
        if self.ranking and self.responses > 2:
            names.append(RANKING_QUESTION)
        if self.rationale:
            names.append(RATIONALE_QUESTION)
        return names

    def agreement_questions(self) -> dict[str, str]:
        """What the agreement report measures: each criterion (ordinal) and the overall choice (nominal)."""
        levels = {criterion.name: "ordinal" for criterion in self.criteria}
        if self.overall and self.responses == 2:
            levels[OVERALL_QUESTION] = "nominal"
        if self.ranking and self.responses > 2:
            levels[RANKING_QUESTION] = "ordinal"
        return levels

    @model_validator(mode="after")
    def _consistent(self) -> "AnnotationSpec":
        problems = []
        names = [criterion.name for criterion in self.criteria]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            problems.append(f"criteria: names are used more than once: {', '.join(repeated)}")
        questions = self.question_names()
        clashes = sorted({name for name in questions if questions.count(name) > 1})
        if clashes:
            problems.append(f"criteria: question names clash with built-in questions: {', '.join(clashes)}")
        if not questions:
            problems.append("ask at least one question: add criteria, or keep overall/ranking/rationale")
        if self.annotators and self.overlap > len(self.annotators):
            problems.append(
                f"overlap: {self.overlap} responses per record need at least {self.overlap} annotators,"
                f" {len(self.annotators)} are listed"
            )
        unknown = sorted(set(self.gate.criteria or []) - set(self.agreement_questions()))
        if unknown:
            known = ", ".join(self.agreement_questions()) or "none"
            problems.append(f"gate.criteria: {', '.join(unknown)} not measured here (measured: {known})")
        if problems:
            raise ValueError("; ".join(problems))
        return self
