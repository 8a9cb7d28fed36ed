"""How long and how hard to train: optimizer, lengths, seed and the held-out share."""

from typing import Literal

from pydantic import Field, model_validator

from recipes._base import StrictModel


class TrainingSpec(StrictModel):
    epochs: float = Field(
        1.0, gt=0, le=100, description="Passes over the training pairs (fractions allowed)."
    )
    max_steps: int | None = Field(
        None, gt=0, description="Stop after this many optimizer steps; when set it overrides epochs."
    )
    learning_rate: float = Field(
        5e-5, gt=0, lt=1, description="Peak learning rate of the adapter; 5e-6 to 5e-5 is usual for LoRA."
    )
    batch_size: int = Field(4, ge=1, le=1024, description="Pairs per device per forward pass.")
    gradient_accumulation: int = Field(
        1,
        ge=1,
        le=1024,
        description="Forward passes summed before each optimizer step (effective batch multiplier).",
    )
    max_length: int = Field(
        256,
        ge=16,
        le=32768,
        description="Longest tokenized prompt + response; longer examples are truncated.",
    )
    max_prompt_length: int = Field(
        128, ge=1, le=32768, description="Longest tokenized prompt; must be smaller than max_length."
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Random seed for shuffling, the held-out split and init."
    )
    heldout_fraction: float = Field(
        0.2, ge=0, lt=0.9, description="Share of pairs kept out of training for evaluation (prompt-disjoint)."
    )
    logging_steps: int = Field(5, ge=1, le=100000, description="Log loss and metrics every this many steps.")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="Training precision; auto picks bf16 on a GPU that supports it, else fp32."
    )
    warmup_fraction: float = Field(
        0.0, ge=0, lt=1, description="Share of the steps spent ramping the learning rate up from 0."
    )
    drop_top_ln_ches: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Drop this share of training pairs with the highest LN-CHES (the pairs most likely to"
        " cause likelihood displacement, methods.md §7 E5) before training; 0 keeps all.",
    )
    lr_scheduler: Literal["linear", "cosine", "constant"] = Field(
        "linear", description="How the learning rate decays after warm-up."
    )

    @model_validator(mode="after")
    def _prompt_fits_in_sequence(self) -> "TrainingSpec":
        # The response needs room after the prompt, or a pair carries no signal at all.
        if self.max_prompt_length >= self.max_length:
            raise ValueError(
                f"max_prompt_length ({self.max_prompt_length}) must be smaller than max_length "
                f"({self.max_length}); raise max_length or lower max_prompt_length"
            )
        return self
