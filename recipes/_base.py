"""Shared pydantic base: every recipe model is frozen and rejects unknown keys."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Frozen, no extra keys: a typo in a recipe is an error, never a silently ignored setting."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
