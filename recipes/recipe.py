"""The Recipe root: everything a run needs to know, validated before any GPU time is spent."""

from typing import Literal

from pydantic import Field, model_validator

from recipes._base import StrictModel
from recipes.annotation_spec import AnnotationSpec
from recipes.data_source import DataSource
from recipes.evaluation import EvaluationSpec
from recipes.methods import MethodSpec
from recipes.model_spec import ModelSpec
from recipes.training import TrainingSpec

CURRENT_SCHEMA_VERSION = 1
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


class Recipe(StrictModel):
    schema_version: Literal[1] = Field(1, description="Version of the recipe format; written by the studio.")
    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=NAME_PATTERN,
        description="Short id: lowercase letters, digits, '-', '_' or '.', up to 64 characters.",
    )
    description: str = Field("", max_length=2000, description="Free text: what this recipe is for.")
    model: ModelSpec = Field(default_factory=ModelSpec, description="The base model and its LoRA adapter.")
    data: DataSource = Field(description="Where the preference data comes from and how its columns are read.")
    method: MethodSpec = Field(description="The training method and its hyperparameters.")
    training: TrainingSpec = Field(
        default_factory=TrainingSpec, description="Optimizer, lengths, seed, split."
    )
    evaluation: EvaluationSpec = Field(
        default_factory=EvaluationSpec, description="Metrics computed on the held-out pairs."
    )
    annotation: AnnotationSpec | None = Field(
        None, description="The annotation rubric in Argilla, and the agreement gate that can block training."
    )

    @model_validator(mode="after")
    def _method_fits_the_rest(self) -> "Recipe":
        """Checks that need more than the method block (e.g. a listwise method on pair-only data).

        A method spec may define `check_recipe(recipe) -> list[str]`: each string names the field and
        the fix, e.g. "data.fields: the ranking method needs ranks or ratings; ...".
        """
        if self.data.kind == "argilla" and self.annotation is None:
            raise ValueError(
                "annotation: a recipe that trains from an Argilla dataset needs the annotation rubric"
                " (criteria, overall, ranking) to read the responses; add an annotation block"
            )
        check = getattr(self.method, "check_recipe", None)
        problems = check(self) if check else []
        if problems:
            raise ValueError("; ".join(problems))
        return self
