"""DPO runner (methods.md §1): pairs in, the DPO-family loss of `workers.losses` out.

The recipe options for richer labels (methods.md §5, §6.2, §7 E4) arrive here as per-pair dataset
extras built once by `dataset_extras`: strength m or soft label p, and a rationale row per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from recipes.preference_data import PreferencePair
from workers.errors import UserFacingError
from workers.logprobs import packed_logps, response_logps
from workers.losses import PairSignal, dpo_loss, rationale_nll_linear, rationale_saturating
from workers.methods.base import MethodRunner
from workers.rationale import rationale_extras, rationale_inputs

# A pair whose data carries no strength (a plain chosen/rejected label, or votes) counts as m = 1.
DEFAULT_STRENGTH = 1.0


class DPORunner(MethodRunner):
    def __init__(self, spec):
        super().__init__(spec)
        self.mean_strength = 1.0  # m̄ of the training set, set by dataset_extras

    def dataset_extras(self, pairs: Sequence[PreferencePair], tokenizer, recipe) -> dict[str, torch.Tensor]:
        """Per-pair tensors the options need, aligned with the tokenized training pairs; {} by default."""
        extras: dict[str, torch.Tensor] = {}
        if self.spec.pair_weighting in ("margin", "strength"):
            strength = [DEFAULT_STRENGTH if p.strength is None else p.strength for p in pairs]
            extras["strength"] = torch.tensor(strength, dtype=torch.float32)
            self.mean_strength = float(extras["strength"].mean()) if strength else 1.0
            if self.mean_strength <= 0:
                raise UserFacingError("the training pairs' mean strength is not positive: check the ratings")
        if self.spec.pair_weighting == "soft_label":
            extras["soft_label"] = torch.tensor([p.soft_label for p in pairs], dtype=torch.float32)
        if self.spec.rationale is not None:
            extras |= rationale_extras(
                pairs,
                tokenizer,
                max_length=recipe.training.max_length,
                use_chat_template=recipe.model.use_chat_template,
                seed=recipe.training.seed,
                randomize_slot=self.spec.rationale.randomize_slot,
            )
        return extras

    def _signal(self, batch: dict[str, torch.Tensor]) -> PairSignal | None:
        weighting = self.spec.pair_weighting
        if weighting == "none":
            return None  # the plain losses, bit-identical to a recipe without the options
        return PairSignal(
            weighting=weighting,
            strength=batch.get("strength"),
            mean_strength=self.mean_strength,
            margin_scale=self.spec.margin_scale,
            soft_label=batch.get("soft_label"),
        )

    def _rationale_losses(self, model, batch, n_pairs: int) -> tuple[torch.Tensor, dict[str, float]]:
        """Per-pair rationale term, 0 for pairs without a rationale; only those rows are run."""
        rows, input_ids, attention_mask, response_mask = rationale_inputs(batch)
        per_pair = torch.zeros(n_pairs, dtype=torch.float32, device=input_ids.device)
        if rows.numel() == 0:
            return per_pair, {}
        logps, _ = response_logps(model, input_ids, attention_mask, response_mask)
        term = rationale_nll_linear if self.spec.rationale.form == "linear" else rationale_saturating
        losses = term(logps, self.spec.rationale.weight)
        metrics = {"rationale/logps": logps.detach().mean().item(), "rationale/loss": losses.mean().item()}
        return per_pair.index_add(0, rows, losses), metrics

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logps, counts = packed_logps(model, batch)
        half = logps.shape[0] // 2
        ref = batch["ref_logps"]  # [B, 2]: chosen, rejected (adapter disabled, precomputed)
        out = dpo_loss(
            logps[:half],
            logps[half:],
            ref[:, 0],
            ref[:, 1],
            beta=self.spec.beta,
            loss_type=self.spec.loss,
            label_smoothing=self.spec.label_smoothing,
            chosen_lengths=counts[:half].clamp(min=1),
            rejected_lengths=counts[half:].clamp(min=1),
            beta_rejected=self.spec.beta_rejected,
            signal=self._signal(batch),
        )
        metrics = {
            "rewards/chosen": out.chosen_rewards.mean().item(),
            "rewards/rejected": out.rejected_rewards.mean().item(),
            "rewards/accuracy": (out.chosen_rewards > out.rejected_rewards).float().mean().item(),
            "rewards/margin": (out.chosen_rewards - out.rejected_rewards).mean().item(),
            "logps/chosen": logps[:half].detach().mean().item(),
            "logps/rejected": logps[half:].detach().mean().item(),
        }
        if self.spec.rationale is None:
            return out.losses.mean(), metrics
        rationale, rationale_metrics = self._rationale_losses(model, batch, half)
        return (out.losses + rationale).mean(), metrics | rationale_metrics
