"""DPO runner (methods.md §1): pairs in, the DPO-family loss of `workers.losses` out."""

from __future__ import annotations

import torch

from workers.logprobs import packed_logps
from workers.losses import dpo_loss


class DPORunner:
    needs_reference = True
    data_shape = "pairs"

    def __init__(self, spec):
        self.spec = spec

    @property
    def beta(self) -> float:
        return self.spec.beta

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
        )
        metrics = {
            "rewards/chosen": out.chosen_rewards.mean().item(),
            "rewards/rejected": out.rejected_rewards.mean().item(),
            "rewards/accuracy": (out.chosen_rewards > out.rejected_rewards).float().mean().item(),
            "rewards/margin": (out.chosen_rewards - out.rejected_rewards).mean().item(),
            "logps/chosen": logps[:half].detach().mean().item(),
            "logps/rejected": logps[half:].detach().mean().item(),
        }
        return out.losses.mean(), metrics
