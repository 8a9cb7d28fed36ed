"""Which base model to load and how the LoRA adapter on top of it looks."""

from typing import Literal

from pydantic import Field

from recipes._base import StrictModel

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraSpec(StrictModel):
    r: int = Field(
        16, ge=1, le=512, description="LoRA rank: the width of the low-rank update; 8 to 64 is usual."
    )
    alpha: float = Field(
        32.0, gt=0, le=4096, description="LoRA alpha: the update is scaled by alpha / r; twice r is usual."
    )
    dropout: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="Dropout on the LoRA input during training, between 0 and 1 (0.05 is usual).",
    )
    target_modules: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TARGET_MODULES),
        min_length=1,
        description="Linear layers that get an adapter (default: all attention and MLP projections).",
    )


class ModelSpec(StrictModel):
    name_or_path: str = Field(
        "smollm2-135m-instruct",
        min_length=1,
        description="The base model: a built-in alias, a Hugging Face hub id, or a local folder.",
    )
    revision: str | None = Field(
        None, description="Hub revision (branch, tag or commit) to pin; empty means the default branch."
    )
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Data type the base weights are loaded in."
    )
    use_chat_template: bool = Field(
        True, description="Wrap prompts in the model's chat template (keep on for instruction-tuned models)."
    )
    lora: LoraSpec = Field(default_factory=LoraSpec, description="Shape of the trainable LoRA adapter.")
