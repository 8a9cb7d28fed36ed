"""DPO: Direct Preference Optimization (Rafailov et al., 2023; methods.md §1).

Options for richer labels ride on the same method (methods.md §5, §6.2, §7 E4): per-pair weighting
from ratings or votes, separate β for the rejected side (Flex-DPO) and a rationale term (RDPO).
"""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from recipes._base import StrictModel

# Only these losses read label_smoothing: sigmoid as conservative DPO, robust as rDPO's flip rate.
_LOSSES_USING_SMOOTHING = ("sigmoid", "robust")
# Margin and soft labels change the sigmoid's logit or its target, so they only exist for that loss.
_SIGMOID_ONLY_WEIGHTINGS = ("margin", "soft_label")


class RationaleSpec(StrictModel):
    """RDPO (Just et al., methods.md §5): also train the policy to write the pair's rationale."""

    weight: float = Field(
        0.1,
        gt=0,
        le=10,
        description="γ, the rationale term's weight; 0.1 as in the paper's config. Its effect grows with "
        "rationale length (log π is summed over tokens).",
    )
    form: Literal["linear", "saturating"] = Field(
        "linear",
        description="linear: −γ·log π(r|c) (the paper); saturating: −log σ(γ·log π(r|c)) (the paper's code).",
    )
    randomize_slot: bool = Field(
        True,
        description="Show the chosen response as A or B by a seeded coin and name it in the rationale, "
        "so the model cannot learn 'A is always better'; false = always A (the paper's code).",
    )


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
    pair_weighting: Literal["none", "margin", "strength", "soft_label"] = Field(
        "none",
        description="Use each pair's label strength: margin (−log σ(βΔ − γ_m·m)), strength "
        "(loss × m/mean m), soft_label (cDPO with the pair's own p from votes or levels), or none.",
    )
    margin_scale: float = Field(
        1.0,
        ge=0,
        le=100,
        description="γ_m, logit units per unit of strength m; only pair_weighting: margin reads it.",
    )
    beta_rejected: float | None = Field(
        None,
        gt=0,
        le=10,
        description="Flex-DPO β⁻ for the rejected side (β stays on the chosen side); lower it, e.g. 0.08, "
        "when the chosen response loses likelihood. Empty = β on both sides.",
    )
    rationale: RationaleSpec | None = Field(
        None,
        description="Add the rationale term (RDPO); the data must map fields.rationale. Empty = off.",
    )

    @model_validator(mode="after")
    def _smoothing_needs_a_loss_that_reads_it(self) -> "DPOSpec":
        if self.label_smoothing > 0 and self.loss not in _LOSSES_USING_SMOOTHING:
            raise ValueError(
                f"label_smoothing only works with loss sigmoid or robust, not '{self.loss}'; "
                "set label_smoothing to 0 or change the loss"
            )
        return self

    @model_validator(mode="after")
    def _weighting_fits_the_loss(self) -> "DPOSpec":
        if self.pair_weighting in _SIGMOID_ONLY_WEIGHTINGS and self.loss != "sigmoid":
            raise ValueError(
                f"pair_weighting {self.pair_weighting} only works with loss sigmoid, not '{self.loss}'; "
                "set loss to sigmoid or pair_weighting to strength or none"
            )
        if self.pair_weighting == "soft_label" and self.label_smoothing > 0:
            raise ValueError(
                "pair_weighting soft_label already sets each pair's label; a global label_smoothing "
                "contradicts it: set label_smoothing to 0"
            )
        if self.margin_scale != 1.0 and self.pair_weighting != "margin":
            raise ValueError(
                "margin_scale is only used with pair_weighting margin; remove margin_scale "
                "or set pair_weighting to margin"
            )
        return self

    @model_validator(mode="after")
    def _flex_beta_needs_a_logit_loss(self) -> "DPOSpec":
        if self.beta_rejected is not None and self.loss == "ipo":
            raise ValueError(
                "beta_rejected (Flex-DPO) needs a loss on β⁺·r_w − β⁻·r_l; ipo's target is 1/(2β): "
                "remove beta_rejected or use loss sigmoid, robust or hinge"
            )
        return self
