"""SPO: Self-supervised Preference Optimization (Li et al. 2024; methods.md §2).

The alignment loss is DPO's. Beside it, degraded copies of each chosen response (k of its K key
sentences deleted) are classified by a small degree head on the policy's mean-pooled hidden states;
that self-supervised loss, weighted by λ, is added to the DPO loss. The head is thrown away at
inference and never merged into the exported adapter.
"""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from recipes._base import StrictModel

# Only these losses read label_smoothing (as in DPOSpec): sigmoid as cDPO, robust as rDPO's flip rate.
_LOSSES_USING_SMOOTHING = ("sigmoid", "robust")
# Two short sentences need about this many tokens; with less room few responses have a unit to delete.
MIN_RESPONSE_ROOM = 32


class SPOSpec(StrictModel):
    """SPO – preference-degree (Li et al. 2024): DPO plus a self-supervised degree classifier."""

    DATA_SHAPE: ClassVar[str] = "pairs"
    PAPER: ClassVar[str] = "https://arxiv.org/abs/2409.17791"

    method: Literal["spo"] = Field(
        description="Training method; 'spo' is Self-supervised Preference Optimization (preference degree)."
    )
    beta: float = Field(
        0.1,
        gt=0,
        le=10,
        description="β, the KL strength of the DPO part: how far the adapter may drift from the base; 0.1 "
        "is usual.",
    )
    loss: Literal["sigmoid", "ipo", "hinge", "robust"] = Field(
        "sigmoid",
        description="DPO loss variant: sigmoid (standard DPO), ipo, hinge, or robust (rDPO for noisy "
        "labels).",
    )
    label_smoothing: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="Assumed share of flipped labels in [0, 0.5); only the sigmoid and robust losses use it.",
    )
    units: int = Field(
        3,
        ge=1,
        le=8,
        description="The number K of key sentences deleted at most (degrees 0..K, so the head has K + 1 "
        "classes); use 1 to 8, 3 is the studio default.",
    )
    ssl_weight: float = Field(
        0.1,
        gt=0,
        le=10,
        description="λ, the weight of the degree-classification loss added to the DPO loss; try 0.1 "
        "(sweep 0.05 to 1).",
    )
    selector: Literal["base_contribution", "longest", "random"] = Field(
        "base_contribution",
        description="Which sentences count as key content and go first: base_contribution (most surprising "
        "to the base model), longest, or random (seeded).",
    )
    head_learning_rate: float = Field(
        1e-4,
        gt=0,
        le=1,
        description="Learning rate of the degree head (its own optimizer group, no weight decay); try 1e-4.",
    )
    degrade_rejected: bool = Field(
        False,
        description="Also degrade the rejected response; its degrees get their own K + 1 classes, so the "
        "head also learns which side a response came from.",
    )

    @model_validator(mode="after")
    def _smoothing_needs_a_loss_that_reads_it(self) -> "SPOSpec":
        if self.label_smoothing > 0 and self.loss not in _LOSSES_USING_SMOOTHING:
            raise ValueError(
                f"label_smoothing only works with loss sigmoid or robust, not '{self.loss}'; "
                "set label_smoothing to 0 or change the loss"
            )
        return self

    def check_recipe(self, recipe) -> list[str]:
        """Degraded variants need room: a response cut to a few tokens has no sentences left to delete."""
        room = recipe.training.max_length - recipe.training.max_prompt_length
        if room < MIN_RESPONSE_ROOM:
            return [
                f"training.max_length: SPO deletes whole sentences from responses, which may get as few "
                f"as {room} tokens (max_length {recipe.training.max_length} − max_prompt_length "
                f"{recipe.training.max_prompt_length}); raise max_length or lower max_prompt_length so "
                f"responses keep at least {MIN_RESPONSE_ROOM} tokens"
            ]
        return []
