"""The annotation part of a recipe. For now only the agreement gate that can block training."""

from pydantic import Field, field_validator

from recipes._base import StrictModel


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
