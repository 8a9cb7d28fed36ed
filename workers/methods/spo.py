"""SPO runner (methods.md §2): the DPO loss plus λ × a self-supervised preference-degree loss.

Before training, every chosen response (and with `degrade_rejected` every rejected one) gets K_eff
degraded variants (`workers.spo_variants`). Each step packs a pair and its variants into one row
(`workers.spo_data`), so one policy forward gives the DPO log-probs and the mean hidden state of every
response; a linear degree head, trained in its own optimizer group, classifies those states. The head
is fp32 on the model's device, lives beside the LoRA model (never inside it) and is saved apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from workers.errors import UserFacingError
from workers.logprobs import packed_logps
from workers.losses import degree_classification_losses, dpo_loss, spo_objective
from workers.methods.base import EvaluationInputs, MethodRunner, TrainingInputs
from workers.spo_data import SPOCollator, SPOExample, mean_pooled
from workers.spo_report import LengthBaseline, degree_report, head_predictions, pooled_lengths
from workers.spo_variants import VariantBuilder, build_examples, pair_tokenizer_for
from workers.trainer import PairDataset

HEAD_DIR = "spo_head"
HEAD_SCHEMA_VERSION = 1


class DegreeHead(torch.nn.Module):
    """g_φ: mean-pooled last hidden state → logits over degrees 0..K (and K+1..2K+1 for rejected)."""

    def __init__(self, hidden_size: int, classes: int):
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, classes)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear(pooled.float())


def load_head(folder: Path) -> tuple[DegreeHead, dict[str, Any]]:
    """A saved degree head and its config (e.g. to inspect it after a run)."""
    config = json.loads((folder / "spo_head.json").read_text())
    head = DegreeHead(config["hidden_size"], config["classes"])
    head.load_state_dict(load_file(folder / "head.safetensors"))
    return head, config


def _flatten(examples: list[SPOExample]) -> tuple[list[int], list[int]]:
    pairs = [item for example in examples for item in pooled_lengths(example)]
    return [n for n, _ in pairs], [d for _, d in pairs]


class SPORunner(MethodRunner):
    def __init__(self, spec):
        super().__init__(spec)
        self.head: DegreeHead | None = None
        self.builder: VariantBuilder | None = None
        self.length_baseline: LengthBaseline | None = None
        self.train_stats: dict[str, float] = {}

    @property
    def classes(self) -> int:
        """K + 1 degrees of the chosen side, and as many again for the rejected side when it is degraded."""
        return (self.spec.units + 1) * (2 if self.spec.degrade_rejected else 1)

    @property
    def rejected_offset(self) -> int | None:
        return self.spec.units + 1 if self.spec.degrade_rejected else None

    def _examples(self, model, tokenizer, sources, pairs, precision: str) -> tuple[list[SPOExample], Any]:
        return build_examples(
            self.builder, model, sources, pairs, rejected_offset=self.rejected_offset, precision=precision
        )

    def training_data(self, inputs: TrainingInputs):
        recipe, model = inputs.recipe, inputs.model
        self.builder = VariantBuilder(
            inputs.tokenizer, pair_tokenizer_for(recipe, inputs.tokenizer), units=self.spec.units,
            selector=self.spec.selector, seed=recipe.training.seed,
        )  # fmt: skip
        examples, stats = self._examples(
            model, inputs.tokenizer, inputs.kept_sources(), inputs.train.pairs, inputs.precision
        )
        if stats.variants == 0:
            raise UserFacingError(
                "SPO found no response with two or more sentences to degrade: the degree head would only "
                "see degree 0. Use data with multi-sentence responses, raise training.max_length, or use dpo"
            )
        self.train_stats = stats.as_dict("spo_train")
        self.length_baseline = LengthBaseline.fit(*_flatten(examples))
        device = next(model.parameters()).device
        self.head = DegreeHead(model.config.hidden_size, self.classes).to(device)
        dataset = PairDataset(examples, {"ref_logps": inputs.ref_logps})
        return dataset, SPOCollator(inputs.tokenizer.pad_token_id)

    def extra_parameter_groups(self) -> list[dict[str, Any]]:
        return [
            {"params": list(self.head.parameters()), "lr": self.spec.head_learning_rate, "weight_decay": 0.0}
        ]

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logps, counts, hidden = packed_logps(model, batch, return_hidden=True)
        half = logps.shape[0] // 2
        ref = batch["ref_logps"]  # [B, 2]: chosen, rejected (adapter disabled, precomputed)
        out = dpo_loss(
            logps[:half], logps[half:], ref[:, 0], ref[:, 1], beta=self.spec.beta, loss_type=self.spec.loss,
            label_smoothing=self.spec.label_smoothing, chosen_lengths=counts[:half].clamp(min=1),
            rejected_lengths=counts[half:].clamp(min=1),
        )  # fmt: skip
        with torch.autocast(hidden.device.type, enabled=False):  # the head stays fp32 under bf16 training
            degree_logits = self.head(mean_pooled(hidden, batch))
            degree_losses = degree_classification_losses(degree_logits, batch["degrees"])
        total = spo_objective(out.losses, degree_losses, self.spec.ssl_weight)
        correct = (degree_logits.argmax(dim=-1) == batch["degrees"]).float()
        return total, {
            "rewards/chosen": out.chosen_rewards.mean().item(),
            "rewards/rejected": out.rejected_rewards.mean().item(),
            "rewards/accuracy": (out.chosen_rewards > out.rejected_rewards).float().mean().item(),
            "rewards/margin": (out.chosen_rewards - out.rejected_rewards).mean().item(),
            "spo/alignment_loss": out.losses.mean().item(),
            "spo/degree_loss": degree_losses.mean().item(),
            "spo/degree_accuracy": correct.mean().item(),
        }

    def save_extras(self, out_dir: Path) -> dict[str, Path]:
        """`out_dir/spo_head/`: the head's weights and what is needed to rebuild it; never in adapter/."""
        folder = out_dir / HEAD_DIR
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, folder / "head.safetensors")
        config = {
            "schema_version": HEAD_SCHEMA_VERSION,
            "units": self.spec.units,
            "classes": self.classes,
            "hidden_size": self.head.linear.in_features,
            "pooling": "mean of the policy's last-layer hidden states over response tokens",
            "rejected_degree_offset": self.rejected_offset,
            "spec": self.spec.model_dump(mode="json"),
        }
        (folder / "spo_head.json").write_text(json.dumps(config, indent=2))
        return {"spo_head": folder}

    def report(self, inputs: EvaluationInputs) -> dict[str, Any]:
        """Held-out degree accuracy of the head vs the length-only baseline (methods.md §2g-1)."""
        sources = [inputs.split.heldout[i] for i in inputs.heldout.kept]
        examples, stats = self._examples(
            inputs.model, inputs.tokenizer, sources, inputs.heldout.pairs, inputs.precision
        )
        lengths, truth = _flatten(examples)
        predicted = head_predictions(inputs.model, self.head, examples, inputs.tokenizer.pad_token_id,
                                     inputs.precision)  # fmt: skip
        metrics, rows = degree_report(
            truth, predicted, lengths, self.length_baseline, self.classes,
            inputs.recipe.evaluation.confidence_level,
        )  # fmt: skip
        metrics |= self.train_stats | stats.as_dict("spo_heldout")
        section = {
            "title": "SPO degree head vs a length-only baseline (methods.md §2g-1)",
            "summary": metrics,
            "per_degree": rows,
            "note": "Held-out responses and their degraded variants. The baseline sees only the token "
            "count (a Gaussian per degree on log-length, fitted on the training variants); a head that "
            "does not beat it has learned length, not content.",
        }
        return {"metrics": metrics, "section": section}
