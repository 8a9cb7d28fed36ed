"""DPO: Direct Preference Optimization (Rafailov et al., 2023; methods.md §1)."""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from recipes._base import StrictModel

# Only these losses read label_smoothing: sigmoid as conservative DPO, robust as rDPO's flip rate.
_LOSSES_USING_SMOOTHING = ("sigmoid", "robust")


class DPOSpec(StrictModel):
    """Pairwise preference optimization against the base model with the adapter disabled."""

    DATA_SHAPE: ClassVar[str] = "pairs"
    PAPER: ClassVar[str] = "https://arxiv.org/abs/2305.18290"

    method: Literal["dpo"] = Field(description="Training method; 'dpo' is Direct Preference Optimization.")
    beta: float = Field(
        0.1,
        gt=0,
        le=10,
        description="β, the KL strength: how far the adapter may drift from the base model; 0.1 is usual.",
    )
    loss: Literal["sigmoid", "ipo", "hinge", "robust"] = Field(
        "sigmoid",
        description="Loss variant: sigmoid (standard DPO), ipo, hinge, or robust (rDPO for noisy labels).",
    )
    label_smoothing: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="Assumed share of flipped labels in [0, 0.5); only the sigmoid and robust losses use it.",
    )

    @model_validator(mode="after")
    def _smoothing_needs_a_loss_that_reads_it(self) -> "DPOSpec":
        if self.label_smoothing > 0 and self.loss not in _LOSSES_USING_SMOOTHING:
            raise ValueError(
                f"label_smoothing only works with loss sigmoid or robust, not '{self.loss}'; "
                "set label_smoothing to 0 or change the loss"
            )
        return self
