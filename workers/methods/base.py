"""The method plug-in interface (architecture.md §4): what the shared pipeline asks of every runner.

A runner turns the split data into its training set (`training_data`), computes its loss from a
batch (`loss`, calling a pure function of `workers.losses`) and may bring trainable modules that are
not LoRA weights (`extra_parameter_groups`, saved apart by `save_extras`) and method-specific
evaluation (`report`). Everything has a pair-shaped default, so DPO-like methods only write `loss`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from workers.tokenization import Tokenized
from workers.trainer import PairCollator, PairDataset

# Implicit rewards of methods without a β of their own (e.g. listwise ranking) are reported with the
# DPO default, so reward margins of different methods stay on one scale; accuracy does not depend on it.
DEFAULT_EVALUATION_BETA = 0.1


@dataclass
class TrainingInputs:
    """What the pipeline has when training starts; a runner takes what its data shape needs."""

    recipe: Any
    tokenizer: Any
    train: Tokenized  # tokenized training pairs (after the E5 filter)
    ref_logps: torch.Tensor  # [n, 2] reference log-probs of `train`, adapter off
    sources: list = field(default_factory=list)  # the PreferencePairs `train.kept` indexes into
    split: Any = None  # workers.data.SplitData: records of list-shaped data live here
    model: Any = None  # the LoRA model (adapter off = reference), for passes a runner needs up front
    precision: str = "fp32"

    def kept_sources(self) -> list:
        return [self.sources[i] for i in self.train.kept] if self.sources else []


@dataclass
class EvaluationInputs:
    """What the pipeline has after training, for a runner's own report section."""

    recipe: Any
    tokenizer: Any
    model: Any
    split: Any
    heldout: Tokenized
    precision: str
    out_dir: Path
    progress: Any = None  # workers.progress.Progress: messages and cancel between long phases


class MethodRunner:
    needs_reference = True
    data_shape = "pairs"

    def __init__(self, spec):
        self.spec = spec

    @property
    def beta(self) -> float:
        """β for implicit-reward metrics (E3); the method's own when it has one."""
        return getattr(self.spec, "beta", DEFAULT_EVALUATION_BETA)

    def dataset_extras(self, pairs, tokenizer, recipe) -> dict[str, torch.Tensor]:
        """Per-pair tensors aligned with the tokenized training pairs; {} by default."""
        return {}

    def training_data(self, inputs: TrainingInputs):
        """(dataset, collator) for the shared trainer; the default is one packed row per pair."""
        extras = self.dataset_extras(inputs.kept_sources(), inputs.tokenizer, inputs.recipe)
        dataset = PairDataset(inputs.train.pairs, {"ref_logps": inputs.ref_logps} | extras)
        return dataset, PairCollator(inputs.tokenizer.pad_token_id)

    def extra_parameter_groups(self) -> list[dict[str, Any]]:
        """Optimizer groups for trainable modules that are not part of the LoRA adapter."""
        return []

    def save_extras(self, out_dir: Path) -> dict[str, Path]:
        """Writes the method's own artifacts (never merged into the exported adapter); name -> path."""
        return {}

    def report(self, inputs: EvaluationInputs) -> dict[str, Any]:
        """Method-specific evaluation: {"metrics": {...}, "section": {...}}; empty by default."""
        return {}

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError
